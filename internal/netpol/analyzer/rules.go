package analyzer

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

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

// namedPort is a port given by name in a rule.
type namedPort struct {
	proto portset.Protocol
	name  string
}

// compileRule resolves a rule's peers to nodes and splits its ports into
// numeric ones (interned) and named ones (resolved per destination).
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

// peerNodes returns the nodes a peer of a policy in namespace policyNS
// matches; equal peers share one cached list.
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
