package netmap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
)

// Flow is one observed connection (or several alike): each end is the
// workload (namespace/name), a pod (namespace/pod), or an address.
type Flow struct {
	Src, Dst string
	// Protocol (TCP, UDP, SCTP) and Port are the destination's; Port 0
	// when the flow does not say.
	Protocol string
	Port     int
	// Count is how many flows this stands for (at least 1).
	Count int
}

// Edge states of an overlaid map.
const (
	// StateAllowed: the policies allow it; no flow was observed.
	StateAllowed = "allowed"
	// StateObserved: observed, and the policies allow every flow seen.
	StateObserved = "observed"
	// StateDenied: observed, and the policies would deny some flow seen.
	StateDenied = "denied"
)

// Overlay is observed flows attributed to the map's nodes and judged by
// the analysed policies. It is read-only once built.
type Overlay struct {
	top  map[pair]*flowCount
	byNS map[string]map[pair]*flowCount
	// Flows counts the flows given; Unattributed those with an end that
	// is neither a workload of the inventory nor an address; Judged the
	// distinct (source, destination, port) triples checked.
	Flows, Unattributed, Judged int
	// Unjudged counts flows left unjudged past the triple budget (shown,
	// without a verdict).
	Unjudged int
	// observed holds the workloads a flow to or from was seen.
	observed map[string]bool
}

type flowCount struct{ flows, denied int }

// ObserveOptions bound an overlay.
type ObserveOptions struct {
	// MaxJudged bounds the distinct (source, destination, port) triples
	// judged (each one runs the explainer); default 20,000.
	MaxJudged int
}

// Observe attributes flows to the map's nodes and judges each distinct
// connection with the policies (the explanation of `kordon netpol can`).
func (m *Map) Observe(flows []Flow, opts ObserveOptions) *Overlay {
	if opts.MaxJudged <= 0 {
		opts.MaxJudged = 20000
	}
	o := &Overlay{top: map[pair]*flowCount{}, byNS: map[string]map[pair]*flowCount{}, observed: map[string]bool{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	parties := map[string]*reference.Party{} // nil: unresolvable
	resolve := func(s string) *reference.Party {
		if p, ok := parties[s]; ok {
			return p
		}
		var out *reference.Party
		if p, err := explain.Resolve(m.cluster, s); err == nil {
			out = &p
		}
		parties[s] = out
		return out
	}
	verdicts := map[string]bool{} // "src|dst|port" → allowed
	add := func(ns string, p pair, n, denied int) {
		if ns == External {
			return
		}
		if o.byNS[ns] == nil {
			o.byNS[ns] = map[pair]*flowCount{}
		}
		c := o.byNS[ns][p]
		if c == nil {
			c = &flowCount{}
			o.byNS[ns][p] = c
		}
		c.flows += n
		c.denied += denied
	}
	for _, f := range flows {
		n := max(f.Count, 1)
		o.Flows += n
		s, d := resolve(f.Src), resolve(f.Dst)
		if s == nil || d == nil || (s.Workload == nil && d.Workload == nil) {
			o.Unattributed += n
			continue
		}
		sid, did, sns, dns := External, External, External, External
		if s.Workload != nil {
			sid, sns = s.Workload.ID(), s.Workload.Namespace
			o.observed[sid] = true
		}
		if d.Workload != nil {
			did, dns = d.Workload.ID(), d.Workload.Namespace
			o.observed[did] = true
		}
		port := ""
		if f.Port > 0 && f.Protocol != "" {
			port = fmt.Sprintf("%s/%d", strings.ToLower(f.Protocol), f.Port)
		}
		key := sid + "|" + did + "|" + port
		if sid == External {
			key = f.Src + "|" + did + "|" + port
		} else if did == External {
			key = sid + "|" + f.Dst + "|" + port
		}
		allowed, ok := verdicts[key]
		if !ok && len(verdicts) < opts.MaxJudged {
			var q *explain.Port
			if port != "" {
				if p, err := explain.ParsePort(port); err == nil {
					q = &p
				}
			}
			allowed = explain.Explain(m.cluster, *s, *d, q).Allowed
			verdicts[key] = allowed
			ok = true
		}
		denied := 0
		if !ok {
			o.Unjudged += n
		} else if !allowed {
			denied = n
		}
		c := o.top[pair{sns, dns}]
		if c == nil {
			c = &flowCount{}
			o.top[pair{sns, dns}] = c
		}
		c.flows += n
		c.denied += denied
		switch {
		case sns == dns:
			add(sns, pair{sid, did}, n, denied)
		default:
			add(sns, pair{sid, dns}, n, denied)
			add(dns, pair{sns, did}, n, denied)
		}
	}
	o.Judged = len(verdicts)
	return o
}

// overlay returns a copy of v with the observed flows of counts: every
// edge gets its flows and state, observed edges the policies do not allow
// are added (with their nodes), and each workload node says whether a
// flow was seen.
func (m *Map) overlay(v View, counts map[pair]*flowCount, o *Overlay) View {
	out := View{Nodes: slices.Clone(v.Nodes), Edges: make([]Edge, 0, len(v.Edges))}
	seen := map[pair]bool{}
	for _, e := range v.Edges {
		p := pair{e.Src, e.Dst}
		seen[p] = true
		e.State = StateAllowed
		if c := counts[p]; c != nil {
			e.Flows, e.Denied = c.flows, c.denied
			e.State = StateObserved
			if c.denied > 0 {
				e.State = StateDenied
			}
		}
		out.Edges = append(out.Edges, e)
	}
	nodes := map[string]bool{}
	for i := range out.Nodes {
		n := &out.Nodes[i]
		nodes[n.ID] = true
		if n.Namespace != "" {
			obs := o.observed[n.ID]
			n.Observed = &obs
		}
	}
	for p, c := range counts {
		if seen[p] {
			continue
		}
		// Observed, never allowed: every flow of it would be denied
		// (or some were not judged).
		out.Edges = append(out.Edges, Edge{Src: p.src, Dst: p.dst, Flows: c.flows, Denied: c.denied, State: StateDenied})
		for _, id := range []string{p.src, p.dst} {
			if nodes[id] {
				continue
			}
			nodes[id] = true
			out.Nodes = append(out.Nodes, m.nodeOf(id))
		}
	}
	slices.SortFunc(out.Edges, func(a, b Edge) int {
		if c := compare(a.Src, b.Src); c != 0 {
			return c
		}
		return compare(a.Dst, b.Dst)
	})
	return out
}

// nodeOf returns the node of an ID that a namespace view lacks: a
// namespace of the top view, external, or a workload.
func (m *Map) nodeOf(id string) Node {
	if id == External {
		return Node{ID: External, Kind: External}
	}
	for _, n := range m.top.Nodes {
		if n.ID == id {
			return n
		}
	}
	ns, _, _ := strings.Cut(id, "/")
	if v, ok := m.byNS[ns]; ok {
		for _, n := range v.Nodes {
			if n.ID == id {
				return n
			}
		}
	}
	return Node{ID: id, Kind: "Namespace"}
}

// NamespacesObserved is Namespaces with the overlay's flows.
func (m *Map) NamespacesObserved(o *Overlay) View { return m.overlay(m.top, o.top, o) }

// NamespaceObserved is Namespace with the overlay's flows.
func (m *Map) NamespaceObserved(ns string, o *Overlay) (View, bool) {
	v, ok := m.Namespace(ns)
	if !ok {
		return v, false
	}
	return m.overlay(v, o.byNS[ns], o), true
}
