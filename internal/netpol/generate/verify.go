package generate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// verify analyses the cluster with its existing and the generated policies.
func (g *gen) verify(opts Options) error {
	data, err := compile.Marshal(g.res.Policies)
	if err != nil {
		return err
	}
	objs, errs := k8s.Decode(data, "generated")
	if len(errs) > 0 {
		return fmt.Errorf("generated policies do not decode: %w", errs[0])
	}
	pc, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		return fmt.Errorf("generated policy rejected: %s", problems[0].Error())
	}
	c := &model.Cluster{Namespaces: slices.Clone(g.c.Namespaces), Workloads: slices.Clone(g.c.Workloads),
		Policies: append(slices.Clone(g.c.Policies), pc.Policies...)}
	c.Normalize()
	var extra []netip.Prefix
	for _, n := range g.nodes {
		if n.w == nil {
			extra = append(extra, netip.PrefixFrom(n.ip.Unmap(), n.ip.Unmap().BitLen()))
		}
	}
	r := analyzer.Analyze(c, analyzer.Options{ExtraPrefixes: extra})
	eps := r.Endpoints()
	index := map[string]int{}
	for i, e := range eps {
		if e.Workload != nil {
			index[e.Workload.Kind+"/"+e.Workload.ID()] = i
		}
	}
	ranges := make([]iprange.Range, 0, len(r.Ranges()))
	for _, e := range r.Ranges() {
		ranges = append(ranges, e.Range)
	}
	endpoint := func(k string) int {
		if i, ok := index[k]; ok {
			return i
		}
		i, _ := iprange.Index(ranges, g.nodes[k].ip)
		return len(c.Workloads) + i
	}
	observedByIndex := map[[2]int]portset.Set{}
	for _, p := range slices.SortedFunc(maps.Keys(g.observed), func(a, b pair) int { return cmp.Or(cmp.Compare(a.src, b.src), cmp.Compare(a.dst, b.dst)) }) {
		s, d := endpoint(p.src), endpoint(p.dst)
		observedByIndex[[2]int{s, d}] = g.observed[p]
		if s == d {
			continue // a workload's connections between its own pods are not analysed
		}
		if missing := g.observed[p].Subtract(r.Ports(s, d)); !missing.IsEmpty() {
			g.res.NotAllowed = append(g.res.NotAllowed, fmt.Sprintf("%s -> %s on %s", g.nodes[p.src], g.nodes[p.dst], missing))
		}
	}
	restricted := func(i int, set map[string]bool) bool {
		e := eps[i]
		return e.Workload != nil && set[e.Workload.Kind+"/"+e.Workload.ID()]
	}
	for _, cn := range r.Connections() {
		if !restricted(cn.Src, g.egress) && !restricted(cn.Dst, g.ingress) {
			continue
		}
		if more := cn.Ports.Subtract(observedByIndex[[2]int{cn.Src, cn.Dst}]); !more.IsEmpty() {
			ports := more.Strings()
			if more.IsAll() {
				ports = []string{more.String()} // ["all"], as the report contract says
			}
			g.res.Beyond = append(g.res.Beyond, Extra{Src: eps[cn.Src].Name(), Dst: eps[cn.Dst].Name(), Ports: ports})
		}
	}
	return nil
}
