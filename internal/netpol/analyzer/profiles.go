package analyzer

import (
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

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
