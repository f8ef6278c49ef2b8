package analyzer

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// class is a set of workloads with equal namespace, labels and named ports.
type class struct {
	ns      string
	rep     *model.Workload
	members []int32 // endpoint indexes
	npsig   int32   // identifier of the container-port signature
	inProf  int32   // ingress profile, -1 when not isolated
	egProf  int32   // egress profile, -1 when not isolated
}

// buildClasses groups the workloads into classes and makes them the first
// endpoints, in the cluster's order.
func (r *Result) buildClasses() {
	c := r.cluster
	index := map[string]int32{}
	sigs := map[string]int32{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		sig := portSignature(w.Ports)
		sid, ok := sigs[sig]
		if !ok {
			sid = int32(len(r.npsigs))
			sigs[sig] = sid
			r.npsigs = append(r.npsigs, w.Ports)
		}
		key := w.Namespace + "\x00" + labelKey(w.Labels) + "\x00" + strconv.Itoa(int(sid))
		ci, ok := index[key]
		if !ok {
			ci = int32(len(r.classes))
			index[key] = ci
			r.classes = append(r.classes, class{ns: w.Namespace, rep: w, npsig: sid, inProf: -1, egProf: -1})
		}
		r.classes[ci].members = append(r.classes[ci].members, int32(i))
		r.endpoints = append(r.endpoints, Endpoint{Workload: w})
		r.nodeOf = append(r.nodeOf, ci)
	}
}

func labelKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}

func portSignature(ps []model.ContainerPort) string {
	var parts []string
	for _, p := range ps {
		if p.Name != "" {
			parts = append(parts, p.Name+"/"+p.Protocol.String()+"/"+strconv.Itoa(int(p.Port)))
		}
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), ",")
}
