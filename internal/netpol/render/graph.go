package render

import (
	"cmp"
	"slices"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
)

// Connection is one allowed connection, the element of the JSON contract
// of kordon netpol analyze (docs/netpol-json.md).
type Connection struct {
	// Src and Dst are namespace/name for workloads and the range text
	// (a CIDR, or first-last) for addresses outside the cluster.
	Src     string `json:"src"`
	SrcKind string `json:"srcKind"`
	Dst     string `json:"dst"`
	DstKind string `json:"dstKind"`
	// All is true when every protocol and port is allowed.
	All bool `json:"all"`
	// Ports are the allowed port ranges, merged and sorted: "TCP/80",
	// "TCP/8000-8080", "UDP/53". When All is true they are
	// "TCP/1-65535", "UDP/1-65535" and "SCTP/1-65535".
	Ports []string `json:"ports"`
}

// Node is an endpoint shown in a graph.
type Node struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
}

// Graph is what the dot and html formats draw: every workload, the external
// ranges that take part in a connection, and the connections.
type Graph struct {
	Nodes       []Node
	Connections []Connection
}

// FromResult builds the graph of an analysis.
func FromResult(r *analyzer.Result) Graph {
	eps := r.Endpoints()
	var g Graph
	used := map[int]bool{}
	for _, c := range r.Connections() {
		used[c.Src], used[c.Dst] = true, true
		g.Connections = append(g.Connections, connection(eps, c))
	}
	for i, e := range eps {
		if e.IsExternal() && !used[i] {
			continue
		}
		n := Node{Name: e.Name(), Kind: e.Kind()}
		if e.Workload != nil {
			n.Namespace = e.Workload.Namespace
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g
}

// each calls fn with every connection of an analysis in the JSON
// contract's shape, without holding them all in memory.
func each(r *analyzer.Result, fn func(Connection)) {
	eps := r.Endpoints()
	r.EachConnection(func(c analyzer.Connection) bool {
		fn(connection(eps, c))
		return true
	})
}

func connection(eps []analyzer.Endpoint, c analyzer.Connection) Connection {
	return Connection{
		Src: eps[c.Src].Name(), SrcKind: eps[c.Src].Kind(),
		Dst: eps[c.Dst].Name(), DstKind: eps[c.Dst].Kind(),
		All: c.Ports.IsAll(), Ports: c.Ports.Strings(),
	}
}

// SortConnections orders connections by source, then destination.
func SortConnections(cs []Connection) {
	slices.SortFunc(cs, func(a, b Connection) int { return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst)) })
}
