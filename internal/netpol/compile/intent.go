package compile

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// APIVersion and Kind identify an intent document.
const (
	APIVersion = "kordon.dev/v1alpha1"
	Kind       = "NetworkIntent"
)

// Intent is a network intent document.
type Intent struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		// Name prefixes the names of the generated policies.
		Name string `json:"name"`
	} `json:"metadata"`
	Groups map[string]Group `json:"groups"`
	Zones  []Zone           `json:"zones"`
	Rules  []Rule           `json:"rules"`
}

// Group names a set of pods or a set of addresses. A pod is in the group
// when its namespace is one of Namespaces (any namespace when empty), its
// namespace carries NamespaceLabels and the pod carries Labels. An address
// is in the group when it is in one of CIDRs and in none of Except. A group
// is either a pod group or an address group.
type Group struct {
	Namespaces      []string          `json:"namespaces,omitempty"`
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	CIDRs           []string          `json:"cidrs,omitempty"`
	Except          []string          `json:"except,omitempty"`

	cidrs, except []netip.Prefix
}

// IsAddresses reports whether the group is an address group.
func (g *Group) IsAddresses() bool { return len(g.CIDRs) > 0 }

// Zone makes namespaces deny traffic by default, in the directions listed
// in Deny ("ingress", "egress"; both when empty). NamespaceLabels are the
// labels the zone's namespaces carry: Kordon uses them to decide whether a
// group selected by namespace labels has pods in the zone.
type Zone struct {
	Namespaces      []string          `json:"namespaces"`
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`
	Deny            []string          `json:"deny,omitempty"`
}

// labels returns the labels of one of the zone's namespaces.
func (z *Zone) labels(ns string) map[string]string {
	out := map[string]string{model.MetadataNameLabel: ns}
	for k, v := range z.NamespaceLabels {
		if k != model.MetadataNameLabel {
			out[k] = v
		}
	}
	return out
}

// Rule allows traffic from every member of the From groups to every member
// of the To groups on Ports ("tcp/443", "tcp/8000-8080", "udp" for every
// UDP port, "tcp/http" for a named container port of the destination;
// every port when empty). From and To take one group name or a list.
type Rule struct {
	From  Names    `json:"from"`
	To    Names    `json:"to"`
	Ports []string `json:"ports,omitempty"`

	ports []portSpec
}

// Names is a list of group names, written as one string or a list.
type Names []string

// UnmarshalJSON accepts "name" or ["a", "b"].
func (n *Names) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		s, err := strconv.Unquote(string(bytes.TrimSpace(b)))
		if err != nil {
			return err
		}
		*n = Names{s}
		return nil
	}
	var list []string
	if err := yaml.Unmarshal(b, &list); err != nil {
		return err
	}
	*n = list
	return nil
}

// portSpec is one parsed entry of a rule's ports.
type portSpec struct {
	proto  portset.Protocol
	lo, hi int32  // 0, 0 for every port of the protocol
	name   string // named container port
}

func (p portSpec) String() string {
	switch {
	case p.name != "":
		return strings.ToLower(p.proto.String()) + "/" + p.name
	case p.lo == 0:
		return strings.ToLower(p.proto.String())
	case p.lo == p.hi:
		return fmt.Sprintf("%s/%d", strings.ToLower(p.proto.String()), p.lo)
	}
	return fmt.Sprintf("%s/%d-%d", strings.ToLower(p.proto.String()), p.lo, p.hi)
}

func parsePortSpec(s string) (portSpec, error) {
	protoText, rest, hasPort := strings.Cut(strings.TrimSpace(s), "/")
	proto, err := portset.ParseProtocol(protoText)
	if err != nil || protoText == "" {
		return portSpec{}, fmt.Errorf("port %q: want protocol/port such as tcp/443, tcp/8000-8080, udp or tcp/http", s)
	}
	if !hasPort {
		return portSpec{proto: proto}, nil
	}
	if rest != "" && (rest[0] < '0' || rest[0] > '9') {
		if errs := validation.IsValidPortName(rest); len(errs) > 0 {
			return portSpec{}, fmt.Errorf("port %q: a port name %s", s, strings.Join(errs, "; "))
		}
		return portSpec{proto: proto, name: rest}, nil
	}
	ps, err := portset.Parse(protoText + "/" + rest)
	if err != nil {
		return portSpec{}, err
	}
	iv := ps.Intervals(proto)[0]
	return portSpec{proto: proto, lo: iv.Lo, hi: iv.Hi}, nil
}

// Parse reads and validates an intent document.
func Parse(data []byte) (*Intent, error) {
	var in Intent
	if err := yaml.UnmarshalStrict(data, &in); err != nil {
		return nil, fmt.Errorf("read intent: %w", err)
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	return &in, nil
}

func (in *Intent) validate() error {
	if in.APIVersion != APIVersion || in.Kind != Kind {
		return fmt.Errorf("intent: want apiVersion %s and kind %s, got %q and %q", APIVersion, Kind, in.APIVersion, in.Kind)
	}
	if in.Metadata.Name == "" {
		in.Metadata.Name = "kordon"
	}
	for _, name := range slices.Sorted(maps.Keys(in.Groups)) {
		g := in.Groups[name]
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 || name == "default-deny" {
			return fmt.Errorf("group %q: want a lower-case DNS label other than default-deny (it names policies)", name)
		}
		if err := validNames("namespace", g.Namespaces); err != nil {
			return fmt.Errorf("group %s: %w", name, err)
		}
		for _, labels := range []map[string]string{g.NamespaceLabels, g.Labels} {
			if err := validLabels(labels); err != nil {
				return fmt.Errorf("group %s: %w", name, err)
			}
		}
		if g.IsAddresses() && (len(g.Namespaces) > 0 || len(g.NamespaceLabels) > 0 || len(g.Labels) > 0) {
			return fmt.Errorf("group %s: give either cidrs or namespaces and labels, not both", name)
		}
		if len(g.Except) > 0 && !g.IsAddresses() {
			return fmt.Errorf("group %s: except needs cidrs", name)
		}
		g.cidrs, g.except = nil, nil
		for _, c := range g.CIDRs {
			p, err := parseCIDR(c)
			if err != nil {
				return fmt.Errorf("group %s: cidr: %w", name, err)
			}
			g.cidrs = append(g.cidrs, p)
		}
		for _, c := range g.Except {
			p, err := parseCIDR(c)
			if err != nil {
				return fmt.Errorf("group %s: except: %w", name, err)
			}
			g.except = append(g.except, p)
		}
		in.Groups[name] = g
	}
	seen := map[string]bool{}
	for i := range in.Zones {
		z := &in.Zones[i]
		if len(z.Namespaces) == 0 {
			return fmt.Errorf("zone %d: no namespaces", i+1)
		}
		if err := validNames("namespace", z.Namespaces); err != nil {
			return fmt.Errorf("zone %d: %w", i+1, err)
		}
		if err := validLabels(z.NamespaceLabels); err != nil {
			return fmt.Errorf("zone %d: %w", i+1, err)
		}
		for _, d := range z.Deny {
			if d != "ingress" && d != "egress" {
				return fmt.Errorf("zone %d: deny %q: want ingress or egress", i+1, d)
			}
		}
		for _, ns := range z.Namespaces {
			if seen[ns] {
				return fmt.Errorf("zone %d: namespace %s is already in a zone", i+1, ns)
			}
			seen[ns] = true
		}
	}
	for i := range in.Rules {
		r := &in.Rules[i]
		if len(r.From) == 0 || len(r.To) == 0 {
			return fmt.Errorf("rule %d: needs from and to", i+1)
		}
		for _, n := range append(slices.Clone(r.From), r.To...) {
			if _, ok := in.Groups[n]; !ok {
				return fmt.Errorf("rule %d: unknown group %q", i+1, n)
			}
		}
		r.ports = nil
		for _, p := range r.Ports {
			ps, err := parsePortSpec(p)
			if err != nil {
				return fmt.Errorf("rule %d: %w", i+1, err)
			}
			r.ports = append(r.ports, ps)
		}
	}
	return nil
}

// parseCIDR reads an address block; bits beyond the prefix length are
// dropped. An IPv4-mapped IPv6 block is refused: the API server rejects it,
// and whether it means IPv4 addresses is unclear.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%s: an IPv4-mapped IPv6 block; write the IPv4 block", s)
	}
	return p.Masked(), nil
}

func validNames(what string, names []string) error {
	for _, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			return fmt.Errorf("%s %q: %s", what, n, strings.Join(errs, "; "))
		}
	}
	return nil
}

func validLabels(labels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			return fmt.Errorf("label %s value %q: %s", k, labels[k], strings.Join(errs, "; "))
		}
	}
	return nil
}

// denies reports whether the namespace denies the direction by default.
func (in *Intent) denies(ns string, d model.Direction) bool {
	for _, z := range in.Zones {
		if !slices.Contains(z.Namespaces, ns) {
			continue
		}
		return len(z.Deny) == 0 || slices.Contains(z.Deny, d.String())
	}
	return false
}

// Member is one end of a connection: a workload, or an address when
// Workload is nil.
type Member struct {
	Workload  *model.Workload
	NSLabels  map[string]string // labels of the workload's namespace
	Addr      netip.Addr
	addrGiven bool
}

// Pod returns a workload member.
func Pod(w *model.Workload, nsLabels map[string]string) Member {
	return Member{Workload: w, NSLabels: nsLabels}
}

// Address returns an address member.
func Address(a netip.Addr) Member { return Member{Addr: a, addrGiven: true} }

func (g *Group) contains(m Member) bool {
	if m.Workload == nil {
		if !g.IsAddresses() {
			return false
		}
		a := m.Addr.Unmap()
		in := false
		for _, c := range g.cidrs {
			in = in || c.Contains(a)
		}
		for _, e := range g.except {
			if e.Contains(a) {
				return false
			}
		}
		return in
	}
	if g.IsAddresses() {
		return false
	}
	w := m.Workload
	if len(g.Namespaces) > 0 && !slices.Contains(g.Namespaces, w.Namespace) {
		return false
	}
	for k, v := range g.NamespaceLabels {
		if m.NSLabels[k] != v {
			return false
		}
	}
	for k, v := range g.Labels {
		if got, ok := w.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Allows says whether the intent allows src to connect to dst on the port:
// each side whose namespace is in a zone denying that direction must be
// allowed by a rule whose from holds src and whose to holds dst; addresses
// and namespaces outside zones are not restricted. Named ports resolve
// against the destination's container ports.
func (in *Intent) Allows(src, dst Member, proto portset.Protocol, port int32) bool {
	restricted := (src.Workload != nil && in.denies(src.Workload.Namespace, model.Egress)) ||
		(dst.Workload != nil && in.denies(dst.Workload.Namespace, model.Ingress))
	if !restricted {
		return true
	}
	for i := range in.Rules {
		r := &in.Rules[i]
		if in.anyContains(r.From, src) && in.anyContains(r.To, dst) && r.portMatches(dst, proto, port) {
			return true
		}
	}
	return false
}

func (in *Intent) anyContains(names []string, m Member) bool {
	for _, n := range names {
		g := in.Groups[n]
		if g.contains(m) {
			return true
		}
	}
	return false
}

func (r *Rule) portMatches(dst Member, proto portset.Protocol, port int32) bool {
	if len(r.ports) == 0 {
		return true
	}
	for _, p := range r.ports {
		if p.proto != proto {
			continue
		}
		switch {
		case p.name != "":
			if dst.Workload != nil && dst.Workload.NamedPorts(p.name, proto).Contains(proto, port) {
				return true
			}
		case p.lo == 0 || (p.lo <= port && port <= p.hi):
			return true
		}
	}
	return false
}
