package analyzer

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
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

// Kind returns the workload's kind, or "IPBlock" for an address range.
func (e Endpoint) Kind() string {
	if e.Workload != nil {
		return e.Workload.Kind
	}
	return "IPBlock"
}

// IsExternal reports whether the endpoint is an address range.
func (e Endpoint) IsExternal() bool { return e.Workload == nil }

// namedPort is a port given by name in a rule.
type namedPort struct {
	proto portset.Protocol
	name  string
}

// class is a set of workloads with equal namespace, labels and named ports.
type class struct {
	ns      string
	rep     *model.Workload
	members []int32 // endpoint indexes
	npsig   int32   // identifier of the container-port signature
	inProf  int32   // ingress profile, -1 when not isolated
	egProf  int32   // egress profile, -1 when not isolated
}

// entry is the ports allowed toward or from one node.
type entry struct {
	node int32
	ps   int32
}

// profile is the isolation of every class selected by one set of policies
// in one direction: base applies to every peer node, sparse to listed nodes
// (sorted by node, already including base).
type profile struct {
	base      int32
	baseNamed []namedPort // egress only: named ports resolved per destination
	sparse    []entry
	named     map[int32]int32 // egress: base resolved for a destination's npsig
}

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

// builder holds what is only needed while analysing.
type builder struct {
	r     *Result
	peers map[string][]int32 // peer cache: policy namespace + peer → nodes
	byNS  map[string][]int32 // namespace → classes
}

// rule is a policy rule with its peers resolved to nodes.
type rule struct {
	allPeers bool
	nodes    []int32
	numeric  int32 // ports given by number or as whole protocols
	named    []namedPort
}

func (a *builder) compileRule(p *model.Policy, mr *model.Rule) rule {
	out := rule{allPeers: len(mr.Peers) == 0}
	if len(mr.Ports) == 0 {
		out.numeric = psAll
	} else {
		var s portset.Set
		for _, port := range mr.Ports {
			if port.Name != "" {
				out.named = append(out.named, namedPort{port.Protocol, port.Name})
				continue
			}
			s = s.Union(port.PortSet(nil))
		}
		out.numeric = a.r.t.id(s)
	}
	if out.allPeers {
		return out
	}
	if len(mr.Peers) == 1 {
		out.nodes = a.peerNodes(p.Namespace, &mr.Peers[0]) // shared, read-only
		return out
	}
	seen := map[int32]bool{}
	for i := range mr.Peers {
		for _, n := range a.peerNodes(p.Namespace, &mr.Peers[i]) {
			if !seen[n] {
				seen[n] = true
				out.nodes = append(out.nodes, n)
			}
		}
	}
	return out
}

func (a *builder) peerNodes(policyNS string, peer *model.Peer) []int32 {
	var key string
	switch {
	case peer.IPBlock != nil:
		key = "ip\x00" + prefixesKey(peer.IPBlock.Prefixes())
	case peer.NamespaceSelector != nil:
		key = "ns\x00" + selectorKey(peer.NamespaceSelector) + "\x00" + selectorKey(peer.PodSelector)
	default:
		key = "pod\x00" + policyNS + "\x00" + selectorKey(peer.PodSelector)
	}
	if nodes, ok := a.peers[key]; ok {
		return nodes
	}
	var nodes []int32
	r := a.r
	switch {
	case peer.IPBlock != nil:
		excluded := map[int]bool{}
		for _, e := range peer.IPBlock.Except {
			for _, i := range iprange.Covered(r.ranges, e) {
				excluded[i] = true
			}
		}
		for _, i := range iprange.Covered(r.ranges, peer.IPBlock.CIDR) {
			if !excluded[i] {
				nodes = append(nodes, int32(len(r.classes)+i))
			}
		}
	default:
		var namespaces []string
		if peer.NamespaceSelector == nil {
			namespaces = []string{policyNS}
		} else {
			for _, ns := range slices.Sorted(maps.Keys(a.byNS)) {
				if peer.NamespaceSelector.Matches(r.cluster.NamespaceLabels(ns)) {
					namespaces = append(namespaces, ns)
				}
			}
		}
		for _, ns := range namespaces {
			for _, ci := range a.byNS[ns] {
				if peer.PodSelector == nil || peer.PodSelector.Matches(r.classes[ci].rep.Labels) {
					nodes = append(nodes, ci)
				}
			}
		}
	}
	a.peers[key] = nodes
	return nodes
}

func selectorKey(s *model.Selector) string {
	if s == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(labelKey(s.MatchLabels))
	for _, r := range s.MatchExpressions {
		b.WriteString("\x01" + r.Key + "\x02" + string(r.Operator) + "\x02" + strings.Join(r.Values, "\x03"))
	}
	return b.String()
}

func prefixesKey(ps []netip.Prefix) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ",")
}

// profiles assigns every class its ingress and egress profile and builds
// the profiles.
func (a *builder) profiles() {
	r := a.r
	byNS := map[string][]int{}
	for i := range r.cluster.Policies {
		p := &r.cluster.Policies[i]
		byNS[p.Namespace] = append(byNS[p.Namespace], i)
	}
	inIndex, egIndex := map[string]int32{}, map[string]int32{}
	var inPols, egPols [][]int
	var inRep []int32
	for ci := range r.classes {
		cl := &r.classes[ci]
		var inSel, egSel []int
		for _, pi := range byNS[cl.ns] {
			p := &r.cluster.Policies[pi]
			if !p.PodSelector.Matches(cl.rep.Labels) {
				continue
			}
			if p.AffectsIngress {
				inSel = append(inSel, pi)
			}
			if p.AffectsEgress {
				egSel = append(egSel, pi)
			}
		}
		if len(inSel) > 0 {
			key := intsKey(inSel) + "|" + strconv.Itoa(int(cl.npsig))
			id, ok := inIndex[key]
			if !ok {
				id = int32(len(inPols))
				inIndex[key] = id
				inPols = append(inPols, inSel)
				inRep = append(inRep, int32(ci))
			}
			cl.inProf = id
		}
		if len(egSel) > 0 {
			key := intsKey(egSel)
			id, ok := egIndex[key]
			if !ok {
				id = int32(len(egPols))
				egIndex[key] = id
				egPols = append(egPols, egSel)
			}
			cl.egProf = id
		}
	}
	rules := map[[2]int]rule{} // (policy, rule index; negative for egress) → compiled
	compiled := func(pi, ri int, d model.Direction) rule {
		k := [2]int{pi, ri}
		if d == model.Egress {
			k[1] = -ri - 1
		}
		if cr, ok := rules[k]; ok {
			return cr
		}
		p := &r.cluster.Policies[pi]
		cr := a.compileRule(p, &p.Rules(d)[ri])
		rules[k] = cr
		return cr
	}
	scratch := make([]int32, r.nodes)
	var touched []int32
	add := func(node, ps int32) {
		if ps == psNone {
			return
		}
		old := scratch[node]
		if old == psNone {
			touched = append(touched, node)
		}
		scratch[node] = r.t.union(old, ps)
	}
	flush := func(base int32) []entry {
		slices.Sort(touched)
		out := make([]entry, 0, len(touched))
		for _, n := range touched {
			if ps := r.t.union(scratch[n], base); ps != base {
				out = append(out, entry{n, ps})
			}
			scratch[n] = psNone
		}
		touched = touched[:0]
		return out
	}
	r.in = make([]profile, len(inPols))
	for id, pols := range inPols {
		dst := r.classes[inRep[id]].rep
		prof := &r.in[id]
		for _, pi := range pols {
			for ri := range r.cluster.Policies[pi].Ingress {
				cr := compiled(pi, ri, model.Ingress)
				ps := r.t.union(cr.numeric, r.resolve(cr.named, dst))
				if cr.allPeers {
					prof.base = r.t.union(prof.base, ps)
					continue
				}
				for _, n := range cr.nodes {
					add(n, ps)
				}
			}
		}
		prof.sparse = flush(prof.base)
	}
	r.eg = make([]profile, len(egPols))
	for id, pols := range egPols {
		prof := &r.eg[id]
		for _, pi := range pols {
			for ri := range r.cluster.Policies[pi].Egress {
				cr := compiled(pi, ri, model.Egress)
				if cr.allPeers {
					prof.base = r.t.union(prof.base, cr.numeric)
					prof.baseNamed = append(prof.baseNamed, cr.named...)
					continue
				}
				for _, n := range cr.nodes {
					ps := cr.numeric
					if len(cr.named) > 0 && int(n) < len(r.classes) {
						ps = r.t.union(ps, r.resolve(cr.named, r.classes[n].rep))
					}
					add(n, ps)
				}
			}
		}
		prof.sparse = flush(prof.base)
		if len(prof.baseNamed) > 0 {
			prof.named = map[int32]int32{}
			// sparse entries must also hold the named base ports
			for i := range prof.sparse {
				e := &prof.sparse[i]
				if int(e.node) < len(r.classes) {
					e.ps = r.t.union(e.ps, r.egressBase(prof, r.classes[e.node].npsig))
				}
			}
		}
	}
	r.inT = make([][]entry, r.nodes)
	for id := range r.in {
		for _, e := range r.in[id].sparse {
			r.inT[e.node] = append(r.inT[e.node], entry{int32(id), e.ps})
		}
	}
}

func intsKey(xs []int) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString(strconv.Itoa(x))
		b.WriteByte(',')
	}
	return b.String()
}

// resolve returns the ports the named ports stand for on a destination.
func (r *Result) resolve(named []namedPort, dst *model.Workload) int32 {
	if len(named) == 0 || dst == nil {
		return psNone
	}
	var s portset.Set
	for _, np := range named {
		s = s.Union(dst.NamedPorts(np.name, np.proto))
	}
	return r.t.id(s)
}

// egressBase returns the ports an egress profile's peer-less rules allow
// toward a class with the given port signature.
func (r *Result) egressBase(prof *profile, npsig int32) int32 {
	if len(prof.baseNamed) == 0 {
		return prof.base
	}
	if ps, ok := prof.named[npsig]; ok {
		return ps
	}
	w := model.Workload{Ports: r.npsigs[npsig]}
	ps := r.t.union(prof.base, r.resolve(prof.baseNamed, &w))
	prof.named[npsig] = ps
	return ps
}
