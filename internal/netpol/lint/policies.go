package lint

import (
	"fmt"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Checks of single policies and their rules: KOR-NETPOL-003 (selects no
// workload), 004 (peer matches nothing), 006 (overly broad), 008 (named port
// resolves nowhere).

func (l *linter) emptyPolicies() {
	for i := range l.c.Policies {
		p := &l.c.Policies[i]
		if len(l.selected[i]) == 0 {
			l.add(PolicySelectsNothingID, policyResource(p), p.Source,
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
				l.add(PeerMatchesNothingID, policyResource(p), p.Source,
					fmt.Sprintf("%s rule %d peer %d: namespaceSelector %s matches no namespace", d, ri+1, k+1, peer.NamespaceSelector.String()))
				continue
			}
			if len(l.peerWorkloads(p, peer)) == 0 {
				l.add(PeerMatchesNothingID, policyResource(p), p.Source,
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
			l.add(BroadRuleID, policyResource(p), p.Source, fmt.Sprintf("%s rule %d has no peers: it allows traffic %s, inside and outside the cluster, on %s",
				d, ri+1, dir, portsText(r)))
			return
		}
		for k := range r.Peers {
			peer := &r.Peers[k]
			switch {
			case peer.IPBlock != nil && peer.IPBlock.CIDR.Bits() == 0:
				l.add(BroadRuleID, policyResource(p), p.Source, fmt.Sprintf("%s rule %d peer %d allows every address (%s) on %s",
					d, ri+1, k+1, peer.IPBlock.CIDR, portsText(r)))
			case peer.NamespaceSelector != nil && peer.NamespaceSelector.IsEmpty() && (peer.PodSelector == nil || peer.PodSelector.IsEmpty()):
				l.add(BroadRuleID, policyResource(p), p.Source, fmt.Sprintf("%s rule %d peer %d has an empty namespaceSelector: it allows every pod of every namespace on %s",
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
				l.add(UnresolvedNamedPortID, policyResource(p), p.Source,
					fmt.Sprintf("%s rule %d: no container of %s declares a %s port named %q", d, ri+1, where, port.Protocol, port.Name))
			}
		}
	})
}
