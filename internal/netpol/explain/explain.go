package explain

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
)

// RuleMatch is a rule whose peers match the other end of the connection,
// with the ports it allows toward the destination.
type RuleMatch struct {
	Policy string
	Rule   int    // 1-based index among the direction's rules
	Source string // where the policy was read (file:line), empty when unknown
	Ports  portset.Set
}

// Side is one direction of the connection: the source's egress or the
// destination's ingress.
type Side struct {
	Direction model.Direction
	// Endpoint is the workload or address whose policies decide this side.
	Endpoint reference.Party
	// Policies are the policies that select the endpoint for this
	// direction; none means the side is not isolated and allows everything.
	Policies []string
	Rules    []RuleMatch
	// Ports are the ports this side allows.
	Ports portset.Set
}

// Isolated reports whether a policy restricts this side.
func (s *Side) Isolated() bool { return len(s.Policies) > 0 }

// External reports whether the endpoint is an address outside the
// cluster, which no policy isolates.
func (s *Side) External() bool { return s.Endpoint.Workload == nil }

// Explanation is the verdict on a connection and its reasons.
type Explanation struct {
	Src, Dst        reference.Party
	Egress, Ingress Side
	// Ports are the allowed ports: those both sides allow.
	Ports portset.Set
	// Allowed is the verdict: for a query with a port, whether that port is
	// allowed; otherwise whether any port is.
	Allowed bool
	// Port is the queried port, nil when none was given.
	Port *Port
}

// Explain decides the connection from src to dst. port, when not nil, is
// the (protocol, port) asked about.
func Explain(c *model.Cluster, src, dst reference.Party, port *Port) Explanation {
	e := Explanation{Src: src, Dst: dst, Port: port}
	e.Egress = side(c, model.Egress, src, dst, dst)
	e.Ingress = side(c, model.Ingress, dst, src, dst)
	e.Ports = e.Egress.Ports.Intersect(e.Ingress.Ports)
	if port != nil {
		e.Allowed = e.Ports.Contains(port.Protocol, port.Number)
	} else {
		e.Allowed = !e.Ports.IsEmpty()
	}
	return e
}

// Port is one (protocol, port number).
type Port struct {
	Protocol portset.Protocol
	Number   int32
}

// String returns "TCP/80".
func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Protocol, p.Number) }

// ParsePort reads "tcp/80", "udp/53" or "443" (TCP).
func ParsePort(s string) (Port, error) {
	ps, err := portset.Parse(s)
	if err != nil {
		return Port{}, err
	}
	for _, p := range portset.Protocols() {
		if ivs := ps.Intervals(p); len(ivs) == 1 && ivs[0].Lo == ivs[0].Hi {
			return Port{p, ivs[0].Lo}, nil
		}
	}
	return Port{}, fmt.Errorf("port %q: want one protocol and one port, such as tcp/80", s)
}

func side(c *model.Cluster, dir model.Direction, self, other, dst reference.Party) Side {
	s := Side{Direction: dir, Endpoint: self}
	if self.Workload == nil {
		s.Ports = portset.All()
		return s
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if !p.Affects(dir) || !p.Selects(self.Workload) {
			continue
		}
		s.Policies = append(s.Policies, p.ID())
		for ri, r := range p.Rules(dir) {
			if !peersMatch(c, p, &r, other) {
				continue
			}
			ports := r.RulePorts(dst.Workload)
			s.Rules = append(s.Rules, RuleMatch{Policy: p.ID(), Rule: ri + 1, Source: p.Source.String(), Ports: ports})
			s.Ports = s.Ports.Union(ports)
		}
	}
	if len(s.Policies) == 0 {
		s.Ports = portset.All()
	}
	return s
}

func peersMatch(c *model.Cluster, p *model.Policy, r *model.Rule, other reference.Party) bool {
	if len(r.Peers) == 0 {
		return true
	}
	for i := range r.Peers {
		peer := &r.Peers[i]
		if other.Workload == nil {
			if peer.IPBlock != nil && peer.IPBlock.Contains(other.Addr) {
				return true
			}
			continue
		}
		w := other.Workload
		if model.PeerMatchesPod(peer, p.Namespace, w.Namespace, c.NamespaceLabels(w.Namespace), w.Labels) {
			return true
		}
	}
	return false
}

// Resolve finds a party by text: namespace/name of a workload (a name alone
// is in "default"), the name of a known pod, or an IP address.
func Resolve(c *model.Cluster, text string) (reference.Party, error) {
	if a, err := netip.ParseAddr(text); err == nil {
		return reference.Party{Addr: a}, nil
	}
	id := text
	if !strings.Contains(id, "/") {
		id = model.DefaultNamespace + "/" + id
	}
	if w := c.Workload(id); w != nil {
		return reference.Party{Workload: w}, nil
	}
	ns, name, _ := strings.Cut(id, "/")
	for i := range c.Workloads {
		w := &c.Workloads[i]
		for _, pod := range w.PodNames {
			if w.Namespace == ns && pod == name {
				return reference.Party{Workload: w}, nil
			}
		}
	}
	return reference.Party{}, fmt.Errorf("no workload %s (give namespace/name of a workload, or an IP address)", id)
}
