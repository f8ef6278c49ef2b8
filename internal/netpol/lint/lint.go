package lint

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Rule documents one lint check.
type Rule struct {
	ID          string
	Title       string
	Severity    finding.Severity
	Controls    []string
	Description string
	Remediation string
}

// Rules returns the lint checks in ID order.
func Rules() []Rule {
	return []Rule{
		{ID: "KOR-NETPOL-001", Title: "Namespace has no NetworkPolicy", Severity: finding.Medium, Controls: []string{"CIS:5.3.2"},
			Description: "Workloads in a namespace without NetworkPolicies accept and send traffic from and to anything.",
			Remediation: "Add a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress]) and allow only the traffic the workloads need."},
		{ID: "KOR-NETPOL-002", Title: "Workload is not selected by any NetworkPolicy", Severity: finding.Medium, Controls: []string{"CIS:5.3.2"},
			Description: "In a namespace that has policies, this workload is selected by none for ingress or for egress, so that direction is open.",
			Remediation: "Select the workload with a policy for both directions, for example a namespace-wide default deny."},
		{ID: "KOR-NETPOL-003", Title: "NetworkPolicy selects no workload", Severity: finding.Low,
			Description: "The policy's podSelector matches no workload in its namespace: it has no effect, often because of a typo in a label.",
			Remediation: "Fix the podSelector or delete the policy."},
		{ID: "KOR-NETPOL-004", Title: "NetworkPolicy peer matches nothing", Severity: finding.Low,
			Description: "A from or to entry selects no workload (or no namespace): the traffic it was meant to allow stays blocked.",
			Remediation: "Fix the selector's labels or namespace, or remove the peer."},
		{ID: "KOR-NETPOL-005", Title: "NetworkPolicy rule is redundant", Severity: finding.Info,
			Description: "Everything the rule allows, for every workload the policy selects, is already allowed by other rules.",
			Remediation: "Remove the rule, or narrow the rules that make it redundant. When it is the last egress rule of a policy without policyTypes, add policyTypes: [Ingress, Egress] so that egress stays restricted."},
		{ID: "KOR-NETPOL-006", Title: "NetworkPolicy rule is overly broad", Severity: finding.Medium,
			Description: "The rule allows every address (0.0.0.0/0 or ::/0), every pod of every namespace (an empty namespaceSelector), or every peer (no from/to).",
			Remediation: "Name the peers that need access: specific namespaces, pod labels or address ranges."},
		{ID: "KOR-NETPOL-007", Title: "Egress is restricted without a DNS allowance", Severity: finding.High,
			Description: "The workload's egress is restricted and no egress rule allows UDP port 53, so name resolution fails.",
			Remediation: "Allow egress to kube-dns (namespace kube-system, k8s-app: kube-dns) on UDP and TCP port 53."},
		{ID: "KOR-NETPOL-008", Title: "Named port resolves nowhere", Severity: finding.Medium,
			Description: "A rule names a port that no container of the workloads it applies to declares (with that protocol), so the rule allows nothing.",
			Remediation: "Use a port name the containers declare, or a port number."},
	}
}

// Run lints the cluster and returns the findings, sorted.
func Run(c *model.Cluster) []finding.Finding { return run(c).out }

func run(c *model.Cluster) *linter {
	l := &linter{c: c, rules: map[string]Rule{}}
	for _, r := range Rules() {
		l.rules[r.ID] = r
	}
	l.selected = make([][]*model.Workload, len(c.Policies))
	for i := range c.Policies {
		for j := range c.Workloads {
			if c.Policies[i].Selects(&c.Workloads[j]) {
				l.selected[i] = append(l.selected[i], &c.Workloads[j])
			}
		}
	}
	l.coverage()
	l.emptyPolicies()
	l.peers()
	l.redundant()
	l.broad()
	l.dns()
	l.namedPorts()
	finding.Sort(l.out)
	return l
}

type linter struct {
	c              *model.Cluster
	rules          map[string]Rule
	selected       [][]*model.Workload // per policy
	out            []finding.Finding
	redundantRules []ruleRef // the rules KOR-NETPOL-005 reports
}

// ruleRef names one rule: policy index, direction, rule index.
type ruleRef struct {
	policy int
	dir    model.Direction
	rule   int
}

func (l *linter) add(id string, res finding.Resource, src k8s.Source, msg string) {
	r := l.rules[id]
	f := finding.Finding{RuleID: id, Title: r.Title, Severity: r.Severity, Controls: append([]string{}, r.Controls...),
		Resource: res, Message: msg, Remediation: r.Remediation}
	if src.File != "" {
		f.Location = &finding.Location{File: src.File, Line: src.Line}
	}
	l.out = append(l.out, f)
}

func policyResource(p *model.Policy) finding.Resource {
	return finding.Resource{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name}
}

func workloadResource(w *model.Workload) finding.Resource {
	return finding.Resource{APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
}

func (l *linter) coverage() {
	hasPolicy := map[string]bool{}
	for _, p := range l.c.Policies {
		hasPolicy[p.Namespace] = true
	}
	hasWorkload := map[string]int{}
	for _, w := range l.c.Workloads {
		hasWorkload[w.Namespace]++
	}
	for _, ns := range l.c.Namespaces {
		if !hasPolicy[ns.Name] && hasWorkload[ns.Name] > 0 {
			l.add("KOR-NETPOL-001", finding.Resource{APIVersion: "v1", Kind: "Namespace", Name: ns.Name}, ns.Source,
				fmt.Sprintf("namespace %s has %d workload(s) and no NetworkPolicy: all their traffic is allowed", ns.Name, hasWorkload[ns.Name]))
		}
	}
	for i := range l.c.Workloads {
		w := &l.c.Workloads[i]
		if !hasPolicy[w.Namespace] {
			continue
		}
		var open []string
		for _, d := range []model.Direction{model.Ingress, model.Egress} {
			isolated := false
			for pi := range l.c.Policies {
				if p := &l.c.Policies[pi]; p.Affects(d) && p.Selects(w) {
					isolated = true
					break
				}
			}
			if !isolated {
				open = append(open, d.String())
			}
		}
		if len(open) > 0 {
			l.add("KOR-NETPOL-002", workloadResource(w), w.Source,
				fmt.Sprintf("no NetworkPolicy selects %s %s for %s: that traffic is unrestricted", w.Kind, w.ID(), strings.Join(open, " or ")))
		}
	}
}

func (l *linter) emptyPolicies() {
	for i := range l.c.Policies {
		p := &l.c.Policies[i]
		if len(l.selected[i]) == 0 {
			l.add("KOR-NETPOL-003", policyResource(p), p.Source,
				fmt.Sprintf("podSelector %s matches no workload in namespace %s", p.PodSelector.String(), p.Namespace))
		}
	}
}

func (l *linter) eachRule(fn func(pi int, p *model.Policy, d model.Direction, ri int, r *model.Rule)) {
	for pi := range l.c.Policies {
		p := &l.c.Policies[pi]
		for _, d := range []model.Direction{model.Ingress, model.Egress} {
			rules := p.Rules(d)
			for ri := range rules {
				fn(pi, p, d, ri, &rules[ri])
			}
		}
	}
}

func (l *linter) peers() {
	l.eachRule(func(_ int, p *model.Policy, d model.Direction, ri int, r *model.Rule) {
		for k := range r.Peers {
			peer := &r.Peers[k]
			if peer.IPBlock != nil {
				continue
			}
			if peer.NamespaceSelector != nil && !l.anyNamespace(peer.NamespaceSelector) {
				l.add("KOR-NETPOL-004", policyResource(p), p.Source,
					fmt.Sprintf("%s rule %d peer %d: namespaceSelector %s matches no namespace", d, ri+1, k+1, peer.NamespaceSelector.String()))
				continue
			}
			if len(l.peerWorkloads(p, peer)) == 0 {
				l.add("KOR-NETPOL-004", policyResource(p), p.Source,
					fmt.Sprintf("%s rule %d peer %d (%s) matches no workload", d, ri+1, k+1, peerText(peer)))
			}
		}
	})
}

func (l *linter) anyNamespace(s *model.Selector) bool {
	for _, ns := range l.c.Namespaces {
		if s.Matches(ns.Labels) {
			return true
		}
	}
	return false
}

func (l *linter) peerWorkloads(p *model.Policy, peer *model.Peer) []*model.Workload {
	var out []*model.Workload
	for i := range l.c.Workloads {
		w := &l.c.Workloads[i]
		if model.PeerMatchesPod(peer, p.Namespace, w.Namespace, l.c.NamespaceLabels(w.Namespace), w.Labels) {
			out = append(out, w)
		}
	}
	return out
}

func peerText(peer *model.Peer) string {
	var parts []string
	if peer.NamespaceSelector != nil {
		parts = append(parts, "namespaceSelector "+peer.NamespaceSelector.String())
	}
	if peer.PodSelector != nil {
		parts = append(parts, "podSelector "+peer.PodSelector.String())
	}
	if peer.IPBlock != nil {
		parts = append(parts, "ipBlock "+peer.IPBlock.CIDR.String())
	}
	return strings.Join(parts, " and ")
}

func (l *linter) broad() {
	l.eachRule(func(_ int, p *model.Policy, d model.Direction, ri int, r *model.Rule) {
		if len(r.Peers) == 0 {
			dir := "from every source"
			if d == model.Egress {
				dir = "to every destination"
			}
			l.add("KOR-NETPOL-006", policyResource(p), p.Source, fmt.Sprintf("%s rule %d has no peers: it allows traffic %s, inside and outside the cluster, on %s",
				d, ri+1, dir, portsText(r)))
			return
		}
		for k := range r.Peers {
			peer := &r.Peers[k]
			switch {
			case peer.IPBlock != nil && peer.IPBlock.CIDR.Bits() == 0:
				l.add("KOR-NETPOL-006", policyResource(p), p.Source, fmt.Sprintf("%s rule %d peer %d allows every address (%s) on %s",
					d, ri+1, k+1, peer.IPBlock.CIDR, portsText(r)))
			case peer.NamespaceSelector != nil && peer.NamespaceSelector.IsEmpty() && (peer.PodSelector == nil || peer.PodSelector.IsEmpty()):
				l.add("KOR-NETPOL-006", policyResource(p), p.Source, fmt.Sprintf("%s rule %d peer %d has an empty namespaceSelector: it allows every pod of every namespace on %s",
					d, ri+1, k+1, portsText(r)))
			}
		}
	})
}

func portsText(r *model.Rule) string {
	if len(r.Ports) == 0 {
		return "every port"
	}
	var parts []string
	for _, p := range r.Ports {
		switch {
		case p.Name != "":
			parts = append(parts, p.Protocol.String()+"/"+p.Name)
		case p.Port == 0:
			parts = append(parts, p.Protocol.String()+"/all")
		default:
			parts = append(parts, portset.Range(p.Protocol, p.Port, max(p.Port, p.EndPort)).String())
		}
	}
	return strings.Join(parts, ",")
}

// dns reports egress-isolated workloads that no egress rule lets reach
// UDP port 53 anywhere.
func (l *linter) dns() {
	dnsServer := &model.Workload{Ports: []model.ContainerPort{{Name: "dns", Protocol: portset.UDP, Port: 53}, {Name: "dns-tcp", Protocol: portset.TCP, Port: 53}}}
	for i := range l.c.Workloads {
		w := &l.c.Workloads[i]
		isolated, dns := false, false
		for pi := range l.c.Policies {
			p := &l.c.Policies[pi]
			if !p.AffectsEgress || !p.Selects(w) {
				continue
			}
			isolated = true
			for _, r := range p.Egress {
				if r.RulePorts(dnsServer).Contains(portset.UDP, 53) {
					dns = true
				}
			}
		}
		if isolated && !dns {
			l.add("KOR-NETPOL-007", workloadResource(w), w.Source,
				fmt.Sprintf("egress of %s %s is restricted and no egress rule allows UDP/53: DNS lookups will fail", w.Kind, w.ID()))
		}
	}
}

func (l *linter) namedPorts() {
	l.eachRule(func(pi int, p *model.Policy, d model.Direction, ri int, r *model.Rule) {
		for _, port := range r.Ports {
			if port.Name == "" {
				continue
			}
			var targets []*model.Workload
			if d == model.Ingress {
				targets = l.selected[pi]
			} else if len(r.Peers) == 0 {
				for i := range l.c.Workloads {
					targets = append(targets, &l.c.Workloads[i])
				}
			} else {
				for k := range r.Peers {
					targets = append(targets, l.peerWorkloads(p, &r.Peers[k])...)
				}
			}
			found := false
			for _, w := range targets {
				if !w.NamedPorts(port.Name, port.Protocol).IsEmpty() {
					found = true
					break
				}
			}
			if !found {
				where := "the workloads the policy selects"
				if d == model.Egress {
					where = "the destinations of the rule"
				}
				l.add("KOR-NETPOL-008", policyResource(p), p.Source,
					fmt.Sprintf("%s rule %d: no container of %s declares a %s port named %q", d, ri+1, where, port.Protocol, port.Name))
			}
		}
	})
}

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
			l.add("KOR-NETPOL-005", policyResource(cur.p), cur.p.Source,
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
