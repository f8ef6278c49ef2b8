package lint

import (
	"fmt"
	"net/netip"

	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// redundant reports rules whose every allowance is covered by other rules
// of the policies that select the same workloads in the same direction.
// Rules are examined last first, and a rule found redundant no longer
// covers others, so of two identical rules only the later is reported.
func (l *linter) redundant() {
	type ruleInfo struct {
		pi, ri int
		d      model.Direction
		p      *model.Policy
		r      *model.Rule
		match  []bool // by endpoint: workloads, then one address per range
	}
	ranges := iprange.Cut(l.c.IPBlockPrefixes())
	nw := len(l.c.Workloads)
	endpoints := nw + len(ranges)
	var all []*ruleInfo
	l.eachRule(func(pi int, p *model.Policy, d model.Direction, ri int, r *model.Rule) {
		info := &ruleInfo{pi: pi, ri: ri, d: d, p: p, r: r, match: make([]bool, endpoints)}
		for e := range endpoints {
			if e < nw {
				info.match[e] = l.peerMatches(p, r, &l.c.Workloads[e], netip.Addr{})
			} else {
				info.match[e] = l.peerMatches(p, r, nil, ranges[e-nw].From)
			}
		}
		all = append(all, info)
	})
	index := map[*model.Workload]int{}
	for i := range l.c.Workloads {
		index[&l.c.Workloads[i]] = i
	}
	// rulesFor[w][d] are the rules that apply to workload w in direction d.
	rulesFor := make([][2][]int, nw)
	for k, info := range all {
		for _, w := range l.selected[info.pi] {
			i := index[w]
			rulesFor[i][info.d] = append(rulesFor[i][info.d], k)
		}
	}
	ports := func(info *ruleInfo, self int, other int) portset.Set {
		if info.d == model.Ingress {
			return info.r.RulePorts(&l.c.Workloads[self])
		}
		if other < nw {
			return info.r.RulePorts(&l.c.Workloads[other])
		}
		return info.r.RulePorts(nil)
	}
	removed := make([]bool, len(all))
	for k := len(all) - 1; k >= 0; k-- {
		cur := all[k]
		if len(l.selected[cur.pi]) == 0 {
			continue
		}
		redundant, allowsSomething := true, false
		for _, w := range l.selected[cur.pi] {
			self := index[w]
			var others []*ruleInfo
			for _, j := range rulesFor[self][cur.d] {
				if j != k && !removed[j] {
					others = append(others, all[j])
				}
			}
			for o := range endpoints {
				if o == self || !cur.match[o] {
					continue
				}
				mine := ports(cur, self, o)
				if mine.IsEmpty() {
					continue
				}
				allowsSomething = true
				var covered portset.Set
				for _, other := range others {
					if other.match[o] {
						covered = covered.Union(ports(other, self, o))
					}
				}
				if !mine.SubsetOf(covered) {
					redundant = false
					break
				}
			}
			if !redundant {
				break
			}
		}
		if redundant && allowsSomething {
			removed[k] = true
			l.redundantRules = append(l.redundantRules, ruleRef{cur.pi, cur.d, cur.ri})
			l.add(RedundantRuleID, policyResource(cur.p), cur.p.Source,
				fmt.Sprintf("%s rule %d allows nothing that other rules do not already allow", cur.d, cur.ri+1))
		}
	}
}

// peerMatches reports whether a rule of policy p matches the other end: a
// workload, or an address when ow is nil.
func (l *linter) peerMatches(p *model.Policy, r *model.Rule, ow *model.Workload, addr netip.Addr) bool {
	if len(r.Peers) == 0 {
		return true
	}
	for k := range r.Peers {
		peer := &r.Peers[k]
		if ow == nil {
			if peer.IPBlock != nil && peer.IPBlock.Contains(addr) {
				return true
			}
		} else if model.PeerMatchesPod(peer, p.Namespace, ow.Namespace, l.c.NamespaceLabels(ow.Namespace), ow.Labels) {
			return true
		}
	}
	return false
}
