package explain

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
)

// RuleMatch is a rule whose peers match the other end of the connection,
// with the ports it allows toward the destination.
type RuleMatch struct {
	Policy string      `json:"policy"`
	Rule   int         `json:"rule"` // 1-based index among the direction's rules
	Source string      `json:"source,omitempty"`
	Ports  portset.Set `json:"-"`
	// PortList is Ports as range texts, for JSON.
	PortList []string `json:"ports"`
}

// Side is one direction of the connection: the source's egress or the
// destination's ingress.
type Side struct {
	Direction string `json:"direction"`
	// Endpoint is the workload or address whose policies decide this side.
	Endpoint string `json:"endpoint"`
	// External is true for an address outside the cluster, which no policy
	// isolates.
	External bool `json:"external"`
	// Policies are the policies that select the endpoint for this
	// direction; none means the side is not isolated and allows everything.
	Policies []string    `json:"policies"`
	Rules    []RuleMatch `json:"rules"`
	Ports    portset.Set `json:"-"`
}

// Isolated reports whether a policy restricts this side.
func (s *Side) Isolated() bool { return len(s.Policies) > 0 }

// Explanation is the verdict on a connection and its reasons.
type Explanation struct {
	Src     string      `json:"src"`
	Dst     string      `json:"dst"`
	Egress  Side        `json:"egress"`
	Ingress Side        `json:"ingress"`
	Ports   portset.Set `json:"-"`
	// Allowed is the verdict: for a query with a port, whether that port is
	// allowed; otherwise whether any port is.
	Allowed bool `json:"allowed"`
	// Port is the queried port ("TCP/80"), empty when none was given.
	Port string `json:"port,omitempty"`
	// AllowedPorts lists the allowed ports.
	AllowedPorts []string `json:"allowedPorts"`
}

// Name returns how a party is shown: namespace/name or the address.
func Name(p reference.Party) string {
	if p.Workload != nil {
		return p.Workload.ID() + " (" + p.Workload.Kind + ")"
	}
	return p.Addr.String()
}

// Explain decides the connection from src to dst. port, when not nil, is
// the (protocol, port) asked about.
func Explain(c *model.Cluster, src, dst reference.Party, port *Port) Explanation {
	e := Explanation{Src: Name(src), Dst: Name(dst)}
	e.Egress = side(c, model.Egress, src, dst, dst)
	e.Ingress = side(c, model.Ingress, dst, src, dst)
	e.Ports = e.Egress.Ports.Intersect(e.Ingress.Ports)
	e.AllowedPorts = nonNil(e.Ports.Strings())
	if port != nil {
		e.Port = port.String()
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
	s := Side{Direction: dir.String(), Endpoint: Name(self), External: self.Workload == nil, Policies: []string{}, Rules: []RuleMatch{}}
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
			s.Rules = append(s.Rules, RuleMatch{Policy: p.ID(), Rule: ri + 1, Source: p.Source.String(), Ports: ports, PortList: nonNil(ports.Strings())})
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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

// WriteText prints the explanation for people.
func WriteText(w io.Writer, e Explanation) error {
	var b strings.Builder
	verdict := "DENIED"
	if e.Allowed {
		verdict = "ALLOWED"
	}
	what := ""
	if e.Port != "" {
		what = " on " + e.Port
	}
	fmt.Fprintf(&b, "%s -> %s%s: %s\n", e.Src, e.Dst, what, verdict)
	if e.Port == "" || !e.Allowed {
		fmt.Fprintf(&b, "allowed ports: %s\n", e.Ports)
	}
	for _, s := range []Side{e.Egress, e.Ingress} {
		fmt.Fprintf(&b, "\n%s of %s:\n", s.Direction, s.Endpoint)
		switch {
		case s.External:
			b.WriteString("  not restricted: addresses outside the cluster are not subject to policies\n")
			continue
		case !s.Isolated():
			fmt.Fprintf(&b, "  not restricted: no policy selects it for %s\n", s.Direction)
			continue
		}
		fmt.Fprintf(&b, "  restricted by %s\n", strings.Join(s.Policies, ", "))
		if len(s.Rules) == 0 {
			peer := "destination"
			if s.Direction == "ingress" {
				peer = "source"
			}
			fmt.Fprintf(&b, "  no %s rule of these policies matches the %s\n", s.Direction, peer)
			continue
		}
		for _, r := range s.Rules {
			where := ""
			if r.Source != "" {
				where = " (" + r.Source + ")"
			}
			fmt.Fprintf(&b, "  %s %s rule %d%s matches, ports: %s\n", r.Policy, s.Direction, r.Rule, where, r.Ports)
		}
		fmt.Fprintf(&b, "  %s allows: %s\n", s.Direction, s.Ports)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
