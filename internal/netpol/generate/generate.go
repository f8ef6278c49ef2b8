package generate

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"

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
	// MaxUnmatched is the share of the flows, from 0 to 1, that may match
	// no workload; when more do not, Result.Failures says so. 0 allows
	// none.
	MaxUnmatched float64
	// MaxPolicyBytes bounds the JSON size of one policy (emit.Options);
	// 0 means emit.DefaultMaxBytes.
	MaxPolicyBytes int
}

// Extra is traffic the generated policies allow that was not observed.
// Ports are range texts, or just "all" for every port of every protocol.
type Extra struct {
	Src   string   `json:"src"`
	Dst   string   `json:"dst"`
	Ports []string `json:"ports"`
}

// SampleSize is how many unmatched flows Result.UnmatchedSample shows.
const SampleSize = 10

// maxWarnings bounds the warnings about flows that could not be used: one
// per flow end that could not be mapped, each counting its flows.
const maxWarnings = 100

// Result is the generated policies and the check of them.
type Result struct {
	// Policies are NetworkPolicy objects, sorted by namespace and name.
	Policies []map[string]any `json:"-"`
	// Flows counts the flows used.
	Flows int `json:"flows"`
	// Read counts the flows given, used or not.
	Read int `json:"read"`
	// Unmatched counts the flows neither end of which is a workload: both
	// are addresses no workload of the input has, or names of pods that
	// are not in the input and cannot be selected.
	Unmatched int `json:"unmatched"`
	// UnmatchedSample are the first SampleSize unmatched flows, with why.
	UnmatchedSample []string `json:"unmatchedSample"`
	// Warnings are flows that could not be used, and other notes.
	Warnings []string `json:"warnings"`
	// Changes say which policies were renamed or split for the API server
	// (emit.Result.Changes).
	Changes []string `json:"changes"`
	// NotAllowed are observed flows that the existing and generated
	// policies together do not allow: empty when both directions are
	// generated and every workload could be selected.
	NotAllowed []string `json:"notAllowed"`
	// Beyond is what the policies allow beyond the observed traffic, for
	// pairs where a generated policy restricts at least one side.
	Beyond []Extra `json:"beyondObserved"`
	// Failures say why the flows taught too little to trust the policies:
	// no flow could be used, or more than Options.MaxUnmatched of them
	// matched no workload (the wrong cluster or manifests, or flows of
	// another cluster).
	Failures []string `json:"failures"`
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
	g := New(c, opts)
	for _, f := range flows {
		g.Observe(f)
	}
	return g.Result()
}

// Generator learns policies from flows given one at a time. Its memory
// grows with the distinct workloads, addresses, pairs and ports seen, not
// with the number of flows. A Generator is not safe for concurrent use.
type Generator struct {
	g    *gen
	opts Options
}

// New returns a Generator for the cluster's workloads. The cluster is not
// modified.
func New(c *model.Cluster, opts Options) *Generator {
	return &Generator{opts: opts, g: &gen{c: cloneCluster(c),
		res:   &Result{UnmatchedSample: []string{}, Warnings: []string{}, Changes: []string{}, NotAllowed: []string{}, Beyond: []Extra{}, Failures: []string{}},
		nodes: map[string]node{}, observed: map[pair]portset.Set{}, pending: map[pair][]protoPort{},
		found: map[string]found{}, resolved: map[string]resolved{}, warned: map[string]*warning{}}}
}

// Observe takes one flow into account.
func (gn *Generator) Observe(f flow.Flow) {
	g := gn.g
	g.res.Read++
	src, err := g.resolve(f.Src)
	if err != nil {
		if g.isWorkload(f.Dst) {
			g.warn("source", f, f.Src, err)
		} else {
			g.unmatched(f, fmt.Sprintf("source %s: %v", f.Src, err))
		}
		return
	}
	dst, err := g.resolve(f.Dst)
	if err != nil {
		if src.w != nil {
			g.warn("destination", f, f.Dst, err)
		} else {
			g.unmatched(f, fmt.Sprintf("destination %s: %v", f.Dst, err))
		}
		return
	}
	if src.w == nil && dst.w == nil {
		g.unmatched(f, "neither end is a workload")
		return
	}
	g.res.Flows++
	g.nodes[src.key()], g.nodes[dst.key()] = src, dst
	p := pair{src.key(), dst.key()}
	if pp := (protoPort{f.Protocol, f.Port}); !g.observed[p].Contains(f.Protocol, f.Port) && !slices.Contains(g.pending[p], pp) {
		// New ports wait to be merged in batches: a union copies the set.
		g.pending[p] = append(g.pending[p], pp)
		if len(g.pending[p]) == pendingPorts {
			g.merge(p)
		}
	}
}

type protoPort struct {
	proto portset.Protocol
	port  int32
}

// pendingPorts is how many new ports of a pair wait to be merged.
const pendingPorts = 256

// merge adds the pending ports of a pair to its observed ports.
func (g *gen) merge(p pair) {
	g.observed[p] = g.observed[p].Union(unionAll(g.pending[p]))
	delete(g.pending, p)
}

// unionAll returns the set of the ports, merging halves (n log n).
func unionAll(ports []protoPort) portset.Set {
	switch len(ports) {
	case 0:
		return portset.Empty()
	case 1:
		return portset.Single(ports[0].proto, ports[0].port)
	}
	return unionAll(ports[:len(ports)/2]).Union(unionAll(ports[len(ports)/2:]))
}

// Result generates the policies for the flows observed, checks them with
// the analyzer and says whether the flows taught enough. Call it once,
// after the last Observe.
func (gn *Generator) Result() (*Result, error) {
	g, opts := gn.g, gn.opts
	for p := range g.pending {
		g.merge(p)
	}
	g.finishWarnings()
	if err := g.policies(opts); err != nil {
		return nil, err
	}
	if err := g.verify(opts); err != nil {
		return nil, err
	}
	res := g.res
	switch {
	case res.Read == 0:
		res.Failures = append(res.Failures, "no flow was read: nothing learned")
	case res.Flows == 0:
		res.Failures = append(res.Failures, fmt.Sprintf("none of the %d flows could be used: nothing learned (are these the flows of this cluster, and its manifests?)", res.Read))
	case float64(res.Unmatched) > opts.MaxUnmatched*float64(res.Read):
		res.Failures = append(res.Failures, fmt.Sprintf("%d of %d flows (%s) matched no workload, more than the %s allowed: are these the flows of this cluster, and its manifests?",
			res.Unmatched, res.Read, percent(float64(res.Unmatched)/float64(res.Read)), percent(opts.MaxUnmatched)))
	}
	return res, nil
}

// percent writes a share as a percentage with at most one decimal.
func percent(share float64) string {
	return strconv.FormatFloat(math.Round(share*1000)/10, 'f', -1, 64) + "%"
}

func (g *gen) unmatched(f flow.Flow, why string) {
	g.res.Unmatched++
	if len(g.res.UnmatchedSample) < SampleSize {
		g.res.UnmatchedSample = append(g.res.UnmatchedSample, fmt.Sprintf("line %d: %s -> %s on %s/%d: %s", f.Line, f.Src, f.Dst, f.Protocol, f.Port, why))
	}
}

// warning is one end that could not be mapped, with the flows it spoiled.
type warning struct {
	index, line, flows int
	text               string
}

// warn records a flow left out because one end could not be mapped: one
// warning per end and reason, counting its flows.
func (g *gen) warn(side string, f flow.Flow, e flow.End, err error) {
	key := side + " " + e.String() + ": " + err.Error()
	if w := g.warned[key]; w != nil {
		w.flows++
		return
	}
	if len(g.warned) >= maxWarnings {
		g.unwarned++
		return
	}
	g.warned[key] = &warning{index: len(g.res.Warnings), line: f.Line, flows: 1, text: key}
	g.res.Warnings = append(g.res.Warnings, "")
}

// finishWarnings writes the warnings of warn in their places.
func (g *gen) finishWarnings() {
	for _, w := range g.warned {
		if w.flows == 1 {
			g.res.Warnings[w.index] = fmt.Sprintf("flow on line %d: %s", w.line, w.text)
		} else {
			g.res.Warnings[w.index] = fmt.Sprintf("flow on line %d and %d more: %s", w.line, w.flows-1, w.text)
		}
	}
	if g.unwarned > 0 {
		g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("%d more flows could not be used: an end could not be mapped", g.unwarned))
	}
	g.warned = map[string]*warning{}
}

type gen struct {
	c        *model.Cluster
	res      *Result
	nodes    map[string]node
	observed map[pair]portset.Set
	pending  map[pair][]protoPort // new ports of a pair not yet in observed
	ips      map[netip.Addr]int   // pod address → workload index (synthesized workloads have none)
	ingress  map[string]bool      // workload keys with a generated ingress side
	egress   map[string]bool
	found    map[string]found    // end key → find's answer
	resolved map[string]resolved // end key → resolve's answer
	warned   map[string]*warning // side, end and reason → its warning
	unwarned int                 // flows left out past maxWarnings
}

func cloneCluster(c *model.Cluster) *model.Cluster {
	out := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Policies: slices.Clone(c.Policies)}
	out.Workloads = make([]model.Workload, len(c.Workloads), len(c.Workloads)+64)
	copy(out.Workloads, c.Workloads)
	return out
}
