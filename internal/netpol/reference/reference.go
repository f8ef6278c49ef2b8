package reference

import (
	"net/netip"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Party is one end of a connection: a workload, or (when Workload is nil)
// an address outside the cluster.
type Party struct {
	Workload *model.Workload
	Addr     netip.Addr
}

// Allowed reports whether src may open a connection to dst on the port of
// the protocol.
func Allowed(c *model.Cluster, src, dst Party, proto portset.Protocol, port int32) bool {
	return sideAllows(c, model.Egress, src, dst, dst, proto, port) &&
		sideAllows(c, model.Ingress, dst, src, dst, proto, port)
}

// sideAllows decides one direction: whether self (the source for egress,
// the destination for ingress) lets traffic to or from other through.
// dst is the connection's destination, which named ports resolve against.
func sideAllows(c *model.Cluster, dir model.Direction, self, other, dst Party, proto portset.Protocol, port int32) bool {
	if self.Workload == nil {
		return true // addresses outside the cluster are not isolated
	}
	isolated := false
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Namespace != self.Workload.Namespace || !p.PodSelector.Matches(self.Workload.Labels) {
			continue
		}
		var affects bool
		var rules []model.Rule
		if dir == model.Ingress {
			affects, rules = p.AffectsIngress, p.Ingress
		} else {
			affects, rules = p.AffectsEgress, p.Egress
		}
		if !affects {
			continue
		}
		isolated = true
		for j := range rules {
			if ruleAllows(c, p, &rules[j], other, dst, proto, port) {
				return true
			}
		}
	}
	return !isolated
}

func ruleAllows(c *model.Cluster, p *model.Policy, r *model.Rule, other, dst Party, proto portset.Protocol, port int32) bool {
	return peersMatch(c, p, r.Peers, other) && portsMatch(r.Ports, dst, proto, port)
}

func peersMatch(c *model.Cluster, p *model.Policy, peers []model.Peer, other Party) bool {
	if len(peers) == 0 {
		return true
	}
	for i := range peers {
		if peerMatches(c, p, &peers[i], other) {
			return true
		}
	}
	return false
}

func peerMatches(c *model.Cluster, p *model.Policy, peer *model.Peer, other Party) bool {
	if other.Workload == nil {
		if peer.IPBlock == nil {
			return false
		}
		a := other.Addr.Unmap()
		if !peer.IPBlock.CIDR.Contains(a) {
			return false
		}
		for _, e := range peer.IPBlock.Except {
			if e.Contains(a) {
				return false
			}
		}
		return true
	}
	if peer.IPBlock != nil {
		return false
	}
	w := other.Workload
	if peer.NamespaceSelector != nil {
		if !peer.NamespaceSelector.Matches(namespaceLabels(c, w.Namespace)) {
			return false
		}
	} else if w.Namespace != p.Namespace {
		return false
	}
	if peer.PodSelector != nil && !peer.PodSelector.Matches(w.Labels) {
		return false
	}
	return true
}

func namespaceLabels(c *model.Cluster, name string) map[string]string {
	for _, ns := range c.Namespaces {
		if ns.Name == name {
			return ns.Labels
		}
	}
	return map[string]string{model.MetadataNameLabel: name}
}

func portsMatch(ports []model.Port, dst Party, proto portset.Protocol, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, rp := range ports {
		if rp.Protocol != proto {
			continue
		}
		switch {
		case rp.Name != "":
			if dst.Workload == nil {
				continue
			}
			for _, cp := range dst.Workload.Ports {
				if cp.Name == rp.Name && cp.Protocol == proto && cp.Port == port {
					return true
				}
			}
		case rp.Port == 0:
			return true
		case rp.EndPort != 0:
			if rp.Port <= port && port <= rp.EndPort {
				return true
			}
		case rp.Port == port:
			return true
		}
	}
	return false
}

// Ports returns every port on which src may reach dst, by asking Allowed
// for each of the 3 × 65,535 (protocol, port) pairs. It is slow on purpose.
func Ports(c *model.Cluster, src, dst Party) portset.Set {
	var s portset.Set
	for _, p := range portset.Protocols() {
		start := int32(-1)
		for port := int32(portset.MinPort); port <= portset.MaxPort+1; port++ {
			ok := port <= portset.MaxPort && Allowed(c, src, dst, p, port)
			switch {
			case ok && start < 0:
				start = port
			case !ok && start >= 0:
				s = s.Union(portset.Range(p, start, port-1))
				start = -1
			}
		}
	}
	return s
}
