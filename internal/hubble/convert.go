package hubble

import (
	"net/netip"
	"time"

	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// toFlow returns the flow of a Hubble flow as internal/netpol/flow reads
// Hubble's JSON, with the same choices: replies and flows without a
// transport port are left out (ok false); dropped flows are kept with
// their verdict. A flow without a time gets now.
func toFlow(f *flowpb.Flow, now time.Time) (flow.Flow, bool) {
	if f.GetIsReply().GetValue() {
		return flow.Flow{}, false
	}
	var out flow.Flow
	switch p := f.GetL4().GetProtocol().(type) {
	case *flowpb.Layer4_TCP:
		out.Protocol, out.Port = portset.TCP, int32(p.TCP.GetDestinationPort())
	case *flowpb.Layer4_UDP:
		out.Protocol, out.Port = portset.UDP, int32(p.UDP.GetDestinationPort())
	case *flowpb.Layer4_SCTP:
		out.Protocol, out.Port = portset.SCTP, int32(p.SCTP.GetDestinationPort())
	default:
		return flow.Flow{}, false
	}
	if out.Port < 1 || out.Port > 65535 {
		return flow.Flow{}, false
	}
	out.Time = now
	if ts := f.GetTime(); ts != nil && ts.IsValid() {
		out.Time = ts.AsTime().UTC()
	}
	if f.GetVerdict() != flowpb.Verdict_VERDICT_UNKNOWN {
		out.Verdict = f.GetVerdict().String()
	}
	out.Src = toEnd(f.GetSource(), f.GetIP().GetSource())
	out.Dst = toEnd(f.GetDestination(), f.GetIP().GetDestination())
	return out, true
}

func toEnd(e *flowpb.Endpoint, ip string) flow.End {
	out := flow.End{Namespace: e.GetNamespace(), Name: e.GetPodName()}
	if a, err := netip.ParseAddr(ip); err == nil {
		out.IP = a
	}
	if w := e.GetWorkloads(); len(w) > 0 {
		out.Workload, out.Kind = w[0].GetName(), w[0].GetKind()
	}
	for _, l := range e.GetLabels() {
		if l == "reserved:world" {
			out.World = true
		}
	}
	return out
}
