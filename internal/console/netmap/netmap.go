// Package netmap prepares the console's network map from the netpol
// analyzer: namespaces first (workload counts, unprotected workloads, the
// allowed connections between namespaces), then on demand the workloads of
// one namespace with their connections; traces of one connection with the
// `kordon netpol can` explanation; and the effective policy of a workload.
// Everything is computed once when the map is built, so a page asks for a
// slice of a finished result.
package netmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/render"
)

// External is the node that stands for every address outside the cluster.
const External = "external"

// Node is a namespace or a workload on the map.
type Node struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // Namespace, a workload kind, or External
	// Namespace is the workload's namespace (empty for a namespace node).
	Namespace string `json:"namespace,omitempty"`
	Workloads int    `json:"workloads,omitempty"`
	// Unprotected counts workloads no policy isolates for ingress (for a
	// workload node: 1 or 0).
	Unprotected int `json:"unprotected"`
	// EgressOpen counts workloads no policy isolates for egress.
	EgressOpen int `json:"egressOpen"`
	// Observed says, on a map with observed flows, whether a flow to or
	// from the workload was seen (nil on namespaces and without flows).
	Observed *bool `json:"observed,omitempty"`
}

// Edge is allowed traffic from one node to another: how many workload
// pairs (or workload to address range pairs) may connect.
type Edge struct {
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	Pairs int    `json:"pairs"`
	// Flows, Denied and State are set on a map with observed flows: the
	// flows seen, how many of them the policies would deny, and
	// StateAllowed, StateObserved or StateDenied.
	Flows  int    `json:"flows,omitempty"`
	Denied int    `json:"denied,omitempty"`
	State  string `json:"state,omitempty"`
}

// View is one level of the map.
type View struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Map is the analysed cluster. It is safe for concurrent use.
type Map struct {
	cluster *model.Cluster
	top     View
	// byNS holds each namespace's workload-level view: its workloads, and
	// other namespaces as aggregated nodes.
	byNS map[string]*View
	mu   sync.Mutex // explain reads the cluster's lazily built indexes
}

type pair struct{ src, dst string }

// New analyses the cluster and builds the map.
func New(c *model.Cluster) *Map {
	m := &Map{cluster: c, byNS: map[string]*View{}}
	res := analyzer.Analyze(c, analyzer.Options{})
	eps := res.Endpoints()
	ingress, egress := isolation(c)
	nsNodes := map[string]*Node{}
	nsOf := func(name string) *Node {
		n := nsNodes[name]
		if n == nil {
			n = &Node{ID: name, Kind: "Namespace"}
			nsNodes[name] = n
		}
		return n
	}
	for _, ns := range c.Namespaces {
		nsOf(ns.Name)
	}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		n := nsOf(w.Namespace)
		n.Workloads++
		v := m.view(w.Namespace)
		wn := Node{ID: w.ID(), Kind: w.Kind, Namespace: w.Namespace, Workloads: 1}
		if !ingress[w.ID()] {
			n.Unprotected++
			wn.Unprotected = 1
		}
		if !egress[w.ID()] {
			n.EgressOpen++
			wn.EgressOpen = 1
		}
		v.Nodes = append(v.Nodes, wn)
	}
	top := map[pair]int{}
	local := map[string]map[pair]int{}
	add := func(ns string, p pair) {
		if local[ns] == nil {
			local[ns] = map[pair]int{}
		}
		local[ns][p]++
	}
	res.EachConnection(func(cn analyzer.Connection) bool {
		s, d := eps[cn.Src], eps[cn.Dst]
		sns, dns := External, External
		if s.Workload != nil {
			sns = s.Workload.Namespace
		}
		if d.Workload != nil {
			dns = d.Workload.Namespace
		}
		top[pair{sns, dns}]++
		switch {
		case sns == dns:
			add(sns, pair{s.Workload.ID(), d.Workload.ID()})
		default:
			if s.Workload != nil {
				add(sns, pair{s.Workload.ID(), dns})
			}
			if d.Workload != nil {
				add(dns, pair{sns, d.Workload.ID()})
			}
		}
		return true
	})
	for _, n := range nsNodes {
		m.top.Nodes = append(m.top.Nodes, *n)
	}
	m.top.Nodes = append(m.top.Nodes, Node{ID: External, Kind: External})
	slices.SortFunc(m.top.Nodes, func(a, b Node) int { return compare(a.ID, b.ID) })
	m.top.Edges = edges(top)
	for ns, v := range m.byNS {
		v.Edges = edges(local[ns])
		seen := map[string]bool{}
		for _, n := range v.Nodes {
			seen[n.ID] = true
		}
		for _, e := range v.Edges {
			for _, id := range []string{e.Src, e.Dst} {
				if !seen[id] {
					seen[id] = true
					if id == External {
						v.Nodes = append(v.Nodes, Node{ID: External, Kind: External})
					} else {
						v.Nodes = append(v.Nodes, *nsNodes[id])
					}
				}
			}
		}
	}
	for ns := range nsNodes {
		m.view(ns)
	}
	return m
}

func (m *Map) view(ns string) *View {
	v := m.byNS[ns]
	if v == nil {
		v = &View{Nodes: []Node{}, Edges: []Edge{}}
		m.byNS[ns] = v
	}
	return v
}

func edges(counts map[pair]int) []Edge {
	out := make([]Edge, 0, len(counts))
	for p, n := range counts {
		out = append(out, Edge{Src: p.src, Dst: p.dst, Pairs: n})
	}
	slices.SortFunc(out, func(a, b Edge) int {
		if c := compare(a.Src, b.Src); c != 0 {
			return c
		}
		return compare(a.Dst, b.Dst)
	})
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isolation returns the workloads some policy isolates, per direction.
func isolation(c *model.Cluster) (ingress, egress map[string]bool) {
	ingress, egress = map[string]bool{}, map[string]bool{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		for j := range c.Policies {
			p := &c.Policies[j]
			if p.Selects(w) {
				if p.AffectsIngress {
					ingress[w.ID()] = true
				}
				if p.AffectsEgress {
					egress[w.ID()] = true
				}
			}
		}
	}
	return ingress, egress
}

// Namespaces returns the top level: namespaces, the external node, and
// the allowed traffic between them.
func (m *Map) Namespaces() View { return m.top }

// Namespace returns a namespace's workloads and their traffic, with other
// namespaces as aggregated nodes; false when there is no such namespace.
func (m *Map) Namespace(ns string) (View, bool) {
	v, ok := m.byNS[ns]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// Trace explains whether src may connect to dst (namespace/name of a
// workload, a pod name, or an address) on port (tcp/80; empty for any),
// as the JSON of `kordon netpol can -o json`.
func (m *Map) Trace(src, dst, port string) (json.RawMessage, bool, error) {
	var q *explain.Port
	if port != "" {
		p, err := explain.ParsePort(port)
		if err != nil {
			return nil, false, fmt.Errorf("port: %w", err)
		}
		q = &p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := explain.Resolve(m.cluster, src)
	if err != nil {
		return nil, false, fmt.Errorf("src: %w", err)
	}
	d, err := explain.Resolve(m.cluster, dst)
	if err != nil {
		return nil, false, fmt.Errorf("dst: %w", err)
	}
	if s.Workload == nil && d.Workload == nil {
		return nil, false, fmt.Errorf("src and dst are both addresses: at least one must be a workload")
	}
	e := explain.Explain(m.cluster, s, d, q)
	var buf bytes.Buffer
	if err := render.WriteExplanation(&buf, "json", e); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), e.Allowed, nil
}

// PolicyRef is a policy that selects a workload.
type PolicyRef struct {
	ID         string   `json:"id"`
	Directions []string `json:"directions"`
	Source     string   `json:"source,omitempty"`
	Ingress    int      `json:"ingressRules"`
	Egress     int      `json:"egressRules"`
}

// Effective is the effective policy of a workload.
type Effective struct {
	Workload        string            `json:"workload"`
	Kind            string            `json:"kind"`
	Labels          map[string]string `json:"labels"`
	IngressIsolated bool              `json:"ingressIsolated"`
	EgressIsolated  bool              `json:"egressIsolated"`
	HostNetwork     bool              `json:"hostNetwork,omitempty"`
	Policies        []PolicyRef       `json:"policies"`
}

// Effective returns the policies that select the workload (namespace/name).
func (m *Map) Effective(id string) (Effective, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.cluster.Workload(id)
	if w == nil {
		return Effective{}, false
	}
	e := Effective{Workload: w.ID(), Kind: w.Kind, Labels: w.Labels, HostNetwork: w.HostNetwork, Policies: []PolicyRef{}}
	for j := range m.cluster.Policies {
		p := &m.cluster.Policies[j]
		if !p.Selects(w) {
			continue
		}
		ref := PolicyRef{ID: p.ID(), Source: p.Source.String(), Ingress: len(p.Rules(model.Ingress)), Egress: len(p.Rules(model.Egress))}
		if p.AffectsIngress {
			ref.Directions = append(ref.Directions, "ingress")
			e.IngressIsolated = true
		}
		if p.AffectsEgress {
			ref.Directions = append(ref.Directions, "egress")
			e.EgressIsolated = true
		}
		e.Policies = append(e.Policies, ref)
	}
	return e, true
}
