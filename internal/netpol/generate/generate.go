package generate

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Options tunes Generate.
type Options struct {
	// Ingress and Egress choose the directions to restrict.
	Ingress, Egress bool
	// NoDNS leaves out the DNS allowance added to restricted egress.
	NoDNS bool
}

// Extra is traffic the generated policies allow that was not observed.
// Ports are range texts, or just "all" for every port of every protocol.
type Extra struct {
	Src   string   `json:"src"`
	Dst   string   `json:"dst"`
	Ports []string `json:"ports"`
}

// Result is the generated policies and the check of them.
type Result struct {
	// Policies are NetworkPolicy objects, sorted by namespace and name.
	Policies []map[string]any `json:"-"`
	// Flows counts the flows used.
	Flows int `json:"flows"`
	// Warnings are flows that could not be used, and other notes.
	Warnings []string `json:"warnings"`
	// NotAllowed are observed flows that the existing and generated
	// policies together do not allow: empty when both directions are
	// generated and every workload could be selected.
	NotAllowed []string `json:"notAllowed"`
	// Beyond is what the policies allow beyond the observed traffic, for
	// pairs where a generated policy restricts at least one side.
	Beyond []Extra `json:"beyondObserved"`
}

type node struct {
	w  *model.Workload
	ip netip.Addr
}

func (n node) key() string {
	if n.w != nil {
		return n.w.Kind + "/" + n.w.ID()
	}
	return n.ip.String()
}

func (n node) String() string {
	if n.w != nil {
		return n.w.ID()
	}
	return n.ip.String()
}

type pair struct{ src, dst string }

// Generate learns policies for the cluster's workloads from the flows.
func Generate(c *model.Cluster, flows []flow.Flow, opts Options) (*Result, error) {
	g := &gen{c: cloneCluster(c), res: &Result{Warnings: []string{}, NotAllowed: []string{}, Beyond: []Extra{}}, nodes: map[string]node{}, observed: map[pair]portset.Set{}}
	for _, f := range flows {
		src, err := g.resolve(f.Src)
		if err != nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: source %s: %v", f.Line, f.Src, err))
			continue
		}
		dst, err := g.resolve(f.Dst)
		if err != nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: destination %s: %v", f.Line, f.Dst, err))
			continue
		}
		if src.w == nil && dst.w == nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: %s -> %s: neither end is a workload", f.Line, f.Src, f.Dst))
			continue
		}
		g.res.Flows++
		g.nodes[src.key()], g.nodes[dst.key()] = src, dst
		p := pair{src.key(), dst.key()}
		g.observed[p] = g.observed[p].Union(portset.Single(f.Protocol, f.Port))
	}
	g.policies(opts)
	if err := g.verify(opts); err != nil {
		return nil, err
	}
	return g.res, nil
}

type gen struct {
	c        *model.Cluster
	res      *Result
	nodes    map[string]node
	observed map[pair]portset.Set
	ips      map[netip.Addr]int // pod address → workload index (synthesized workloads have none)
	ingress  map[string]bool    // workload keys with a generated ingress side
	egress   map[string]bool
}

func cloneCluster(c *model.Cluster) *model.Cluster {
	out := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Policies: slices.Clone(c.Policies)}
	out.Workloads = make([]model.Workload, len(c.Workloads), len(c.Workloads)+64)
	copy(out.Workloads, c.Workloads)
	return out
}
