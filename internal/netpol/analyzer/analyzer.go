package analyzer

import (
	"net/netip"

	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// Options tunes Analyze.
type Options struct {
	// ExtraPrefixes are cut into the external address ranges in addition to
	// the policies' ipBlocks, so that two analyses (of an old and a new
	// configuration) use the same ranges.
	ExtraPrefixes []netip.Prefix
}

// Endpoint is one end of a connection: a workload, or (when Workload is
// nil) a range of addresses outside the cluster.
type Endpoint struct {
	Workload *model.Workload
	Range    iprange.Range
}

// Name returns namespace/name for a workload and the range text otherwise.
func (e Endpoint) Name() string {
	if e.Workload != nil {
		return e.Workload.ID()
	}
	return e.Range.String()
}

// IPBlockKind is the kind of an endpoint that is an address range.
const IPBlockKind = "IPBlock"

// Kind returns the workload's kind, or IPBlockKind for an address range.
func (e Endpoint) Kind() string {
	if e.Workload != nil {
		return e.Workload.Kind
	}
	return IPBlockKind
}

// IsExternal reports whether the endpoint is an address range.
func (e Endpoint) IsExternal() bool { return e.Workload == nil }

// Result is the analysed connectivity.
type Result struct {
	cluster   *model.Cluster
	endpoints []Endpoint
	nodeOf    []int32 // endpoint → node
	nodes     int     // classes then ranges
	classes   []class
	ranges    []iprange.Range
	npsigs    [][]model.ContainerPort
	in, eg    []profile
	inT       [][]entry // source node → (ingress profile, ports)
	t         *table
}

// Analyze computes the connectivity of the cluster.
func Analyze(c *model.Cluster, opts Options) *Result {
	r := &Result{cluster: c, t: newTable()}
	r.buildClasses()
	r.ranges = iprange.Cut(append(c.IPBlockPrefixes(), opts.ExtraPrefixes...))
	for i := range r.ranges {
		r.endpoints = append(r.endpoints, Endpoint{Range: r.ranges[i]})
		r.nodeOf = append(r.nodeOf, int32(len(r.classes)+i))
	}
	r.nodes = len(r.classes) + len(r.ranges)
	a := &builder{r: r, peers: map[string][]int32{}, byNS: map[string][]int32{}}
	for i := range r.classes {
		a.byNS[r.classes[i].ns] = append(a.byNS[r.classes[i].ns], int32(i))
	}
	a.profiles()
	return r
}
