package model

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	netutils "k8s.io/utils/net"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// DefaultNamespace is the namespace of objects that name none.
const DefaultNamespace = k8s.DefaultNamespace

// Problem is an object Kordon could not use, such as a NetworkPolicy the
// API server would reject. The object is left out of the model.
type Problem struct {
	Source  k8s.Source
	Ref     k8s.Ref
	Message string
}

// Error formats the problem as "file:line: Kind ns/name: message".
func (p Problem) Error() string {
	return fmt.Sprintf("%s: %s: %s", p.Source, p.Ref, p.Message)
}

// FromObjects builds the model from loaded objects: Namespaces,
// NetworkPolicies (networking.k8s.io/v1) and workloads; every other kind is
// ignored. Objects without a namespace are in "default". Owners are
// resolved by k8s.OwnerIndex: a workload whose controlling owner is also
// loaded is left out (the owner stands for it, and a left-out pod's names
// and addresses go to its top-most loaded owner); a workload whose owner is
// not loaded is reported as k8s.OwnerIndex.ReportedAs says, under the
// owner's kind and name (a pod of a ReplicaSet named after its Deployment
// and pod-template-hash is reported as that Deployment).
func FromObjects(objs []*k8s.Object) (*Cluster, []Problem) {
	b := builder{namespaces: map[string]*Namespace{}, workloads: map[string]*Workload{},
		owners: k8s.NewOwnerIndex(objs), reported: map[*k8s.Object]string{}}
	for _, o := range objs {
		switch {
		case o.Group() == "" && o.Kind() == "Namespace":
			b.namespace(o)
		case o.Group() == "networking.k8s.io" && o.Kind() == "NetworkPolicy":
			b.policy(o)
		case k8s.IsWorkload(o.Group(), o.Kind()):
			b.workload(o)
		}
	}
	b.attachPods()
	return b.cluster(), b.problems
}

// attachPods gives the names and addresses of pods left out to the
// workload their top-most loaded owner is reported as.
func (b *builder) attachPods() {
	for _, p := range b.ownedPods {
		if w := b.workloads[b.reported[b.owners.TopOwner(p)]]; w != nil {
			w.PodNames = append(w.PodNames, p.Name())
			w.IPs = append(w.IPs, podIPs(p)...)
		}
	}
}

type builder struct {
	namespaces map[string]*Namespace
	workloads  map[string]*Workload
	order      []string
	policies   []Policy
	problems   []Problem
	owners     *k8s.OwnerIndex
	reported   map[*k8s.Object]string // workload object → key of the workload it is reported as
	ownedPods  []*k8s.Object          // pods left out because their owner is loaded
}

func namespaceOf(o *k8s.Object) string { return o.AppliedNamespace() }

func (b *builder) problem(o *k8s.Object, format string, args ...any) {
	b.problems = append(b.problems, Problem{Source: o.Source, Ref: o.Ref(), Message: fmt.Sprintf(format, args...)})
}

func (b *builder) namespace(o *k8s.Object) {
	labels := map[string]string{}
	for k, v := range o.Labels() {
		labels[k] = v
	}
	labels[MetadataNameLabel] = o.Name()
	b.namespaces[o.Name()] = &Namespace{Name: o.Name(), Labels: labels, Declared: true, Source: o.Source}
}

func (b *builder) ensureNamespace(name string) {
	if _, ok := b.namespaces[name]; !ok {
		b.namespaces[name] = &Namespace{Name: name, Labels: map[string]string{MetadataNameLabel: name}}
	}
}

func (b *builder) workload(o *k8s.Object) {
	meta, spec, ok := k8s.PodTemplate(o)
	if !ok {
		return
	}
	ns := namespaceOf(o)
	if b.owners.Owner(o) != nil {
		if o.Kind() == "Pod" {
			b.ownedPods = append(b.ownedPods, o)
		}
		return // the owner stands for this object
	}
	// Report the object under its controller when that is not loaded (a
	// ReplicaSet under its Deployment, a Job under its CronJob, a Pod under
	// its owner).
	as := b.owners.ReportedAs(o)
	kind, name, apiVersion := as.Kind, as.Name, as.APIVersion
	if name == "" {
		b.problem(o, "workload has no name")
		return
	}
	b.ensureNamespace(ns)
	key := ns + "/" + name + "/" + kind
	b.reported[o] = key
	w := b.workloads[key]
	if w == nil {
		nw := newWorkload(o, meta, spec)
		nw.Namespace, nw.Name, nw.Kind, nw.APIVersion = ns, name, kind, apiVersion
		w = &nw
		b.workloads[key] = w
		b.order = append(b.order, key)
	}
	if o.Kind() == "Pod" {
		w.PodNames = append(w.PodNames, o.Name())
		w.IPs = append(w.IPs, podIPs(o)...)
	}
}

// WorkloadOf returns the workload of one object that carries a pod
// template, as the object itself names it (no owner is looked up: an
// admission request judges the object it carries). ok is false for other
// objects.
func WorkloadOf(o *k8s.Object) (w Workload, ok bool) {
	meta, spec, ok := k8s.PodTemplate(o)
	if !ok {
		return Workload{}, false
	}
	return newWorkload(o, meta, spec), true
}

func newWorkload(o *k8s.Object, meta, spec map[string]any) Workload {
	hostNetwork, _ := spec["hostNetwork"].(bool)
	_, mirror := o.Annotations()[MirrorPodAnnotation]
	return Workload{Namespace: namespaceOf(o), Name: o.Name(), Kind: o.Kind(), APIVersion: o.APIVersion(),
		Labels: k8s.StringMap(meta, "labels"), Ports: containerPorts(spec),
		HostNetwork: hostNetwork, Mirror: mirror && o.Kind() == "Pod", Source: o.Source}
}

func containerPorts(spec map[string]any) []ContainerPort {
	var out []ContainerPort
	add := func(c map[string]any) {
		for _, p := range k8s.Slice(c, "ports") {
			pm, _ := p.(map[string]any)
			n, _ := pm["containerPort"].(int64)
			proto, err := portset.ParseProtocol(k8s.String(pm, "protocol"))
			if err != nil || n < 1 || n > 65535 {
				continue
			}
			out = append(out, ContainerPort{Name: k8s.String(pm, "name"), Protocol: proto, Port: int32(n)})
		}
	}
	for _, c := range k8s.Slice(spec, "containers") {
		m, _ := c.(map[string]any)
		add(m)
	}
	for _, c := range k8s.Slice(spec, "initContainers") {
		m, _ := c.(map[string]any)
		if k8s.String(m, "restartPolicy") == "Always" { // sidecar containers keep running
			add(m)
		}
	}
	return out
}

func podIPs(o *k8s.Object) []netip.Addr {
	status := k8s.Map(o.Content, "status")
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(k8s.String(status, "podIP"))
	for _, ip := range k8s.Slice(status, "podIPs") {
		m, _ := ip.(map[string]any)
		add(k8s.String(m, "ip"))
	}
	return out
}

func (b *builder) policy(o *k8s.Object) {
	np, err := DecodePolicy(o.Content)
	if err != nil {
		b.problem(o, "%v", err)
		return
	}
	np.Namespace = k8s.NamespaceOrDefault(np.Namespace)
	v := ValidateCreate
	if np.ResourceVersion != "" {
		v = ValidateStored // read from an API server, or exported from one
	}
	if errs := ValidatePolicy(np, v); len(errs) > 0 {
		b.problem(o, "%s", errorText(errs))
		return
	}
	p, err := convertPolicy(np)
	if err != nil {
		b.problem(o, "%v", err)
		return
	}
	p.Source = o.Source
	b.ensureNamespace(p.Namespace)
	b.policies = append(b.policies, *p)
}

// MirrorPodAnnotation marks the mirror pod of a static pod.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// PolicyFromAPI converts a NetworkPolicy the API server holds (as an
// informer's cache does) to the model, applying the API server's defaults
// for policyTypes. It is judged with ValidateStored; the error names the
// fields the API server would reject.
func PolicyFromAPI(np *networkingv1.NetworkPolicy) (*Policy, error) {
	if errs := ValidatePolicy(np, ValidateStored); len(errs) > 0 {
		return nil, errors.New(errorText(errs))
	}
	return convertPolicy(np)
}

// convertPolicy converts a validated policy.
func convertPolicy(np *networkingv1.NetworkPolicy) (*Policy, error) {
	p := &Policy{Namespace: np.Namespace, Name: np.Name}
	if p.Name == "" {
		p.Name = np.GenerateName
	}
	p.PodSelector = *convertSelector(&np.Spec.PodSelector)
	for i, r := range np.Spec.Ingress {
		rule, err := convertRule(r.From, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("spec.ingress[%d].from%w", i, err)
		}
		p.Ingress = append(p.Ingress, rule)
	}
	for i, r := range np.Spec.Egress {
		rule, err := convertRule(r.To, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("spec.egress[%d].to%w", i, err)
		}
		p.Egress = append(p.Egress, rule)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		p.AffectsIngress = true
		p.AffectsEgress = len(np.Spec.Egress) != 0
		return p, nil
	}
	for _, t := range np.Spec.PolicyTypes {
		p.AffectsIngress = p.AffectsIngress || t == networkingv1.PolicyTypeIngress
		p.AffectsEgress = p.AffectsEgress || t == networkingv1.PolicyTypeEgress
	}
	return p, nil
}

func convertSelector(s *metav1.LabelSelector) *Selector {
	out := &Selector{MatchLabels: s.MatchLabels}
	for _, r := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, Requirement{Key: r.Key, Operator: Operator(r.Operator), Values: r.Values})
	}
	return out
}

// convertRule converts the peers and ports of a validated rule; errors
// start with the peer's index ("[1].ipBlock.cidr: ...").
func convertRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (Rule, error) {
	var r Rule
	for i := range peers {
		peer, err := convertPeer(&peers[i])
		if err != nil {
			return Rule{}, fmt.Errorf("[%d].%w", i, err)
		}
		r.Peers = append(r.Peers, peer)
	}
	for i := range ports {
		r.Ports = append(r.Ports, convertPort(&ports[i]))
	}
	return r, nil
}

func convertPeer(np *networkingv1.NetworkPolicyPeer) (Peer, error) {
	var p Peer
	if np.IPBlock != nil {
		cidr, err := parseCIDR(np.IPBlock.CIDR)
		if err != nil {
			return Peer{}, fmt.Errorf("ipBlock.cidr: %w", err)
		}
		block := &IPBlock{CIDR: cidr}
		for i, e := range np.IPBlock.Except {
			ep, err := parseCIDR(e)
			if err != nil {
				return Peer{}, fmt.Errorf("ipBlock.except[%d]: %w", i, err)
			}
			block.Except = append(block.Except, ep)
		}
		p.IPBlock = block
		return p, nil
	}
	if np.PodSelector != nil {
		p.PodSelector = convertSelector(np.PodSelector)
	}
	if np.NamespaceSelector != nil {
		p.NamespaceSelector = convertSelector(np.NamespaceSelector)
	}
	return p, nil
}

// parseCIDR reads an ipBlock CIDR as the API server and network plugins
// read it (Go's net.ParseCIDR, with leading zeros allowed): bits beyond the
// prefix length are dropped, and an IPv4-mapped IPv6 prefix of 96 bits or
// more is the IPv4 prefix it maps. ValidatePolicy rejects those forms in
// new objects; objects stored under older rules may still hold them.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		_, ipnet, err := netutils.ParseCIDRSloppy(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr, _ := netip.AddrFromSlice(ipnet.IP)
		bits, _ := ipnet.Mask.Size()
		if addr.Is4() && len(ipnet.Mask) == net.IPv6len {
			bits -= 96
		}
		p = netip.PrefixFrom(addr, bits)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func convertPort(np *networkingv1.NetworkPolicyPort) Port {
	var p Port
	if np.Protocol != nil {
		p.Protocol, _ = portset.ParseProtocol(string(*np.Protocol))
	}
	switch {
	case np.Port == nil:
	case np.Port.Type == intstr.String:
		p.Name = np.Port.StrVal
	default:
		p.Port = np.Port.IntVal
		if np.EndPort != nil {
			p.EndPort = *np.EndPort
		}
	}
	return p
}

func (b *builder) cluster() *Cluster {
	c := &Cluster{}
	for _, ns := range b.namespaces {
		c.Namespaces = append(c.Namespaces, *ns)
	}
	slices.SortFunc(c.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })
	for _, key := range b.order {
		c.Workloads = append(c.Workloads, *b.workloads[key])
	}
	SortWorkloads(c.Workloads)
	c.Policies = b.policies
	slices.SortStableFunc(c.Policies, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return c
}

// SortWorkloads orders workloads by namespace, name and kind.
func SortWorkloads(ws []Workload) {
	slices.SortStableFunc(ws, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
}

// Normalize sorts the cluster's namespaces, workloads and policies and adds
// the namespaces that workloads and policies use but that are missing, with
// the kubernetes.io/metadata.name label set on every namespace. Use it on a
// Cluster built by hand.
func (c *Cluster) Normalize() {
	have := map[string]bool{}
	for i := range c.Namespaces {
		ns := &c.Namespaces[i]
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[MetadataNameLabel] = ns.Name
		have[ns.Name] = true
	}
	add := func(name string) {
		if !have[name] {
			have[name] = true
			c.Namespaces = append(c.Namespaces, Namespace{Name: name, Labels: map[string]string{MetadataNameLabel: name}})
		}
	}
	for _, w := range c.Workloads {
		add(w.Namespace)
	}
	for _, p := range c.Policies {
		add(p.Namespace)
	}
	slices.SortFunc(c.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })
	SortWorkloads(c.Workloads)
	slices.SortStableFunc(c.Policies, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

// IPBlockPrefixes returns every CIDR and exception of every ipBlock peer in
// the policies.
func (c *Cluster) IPBlockPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.Policies {
		for _, rules := range [][]Rule{p.Ingress, p.Egress} {
			for _, r := range rules {
				for _, peer := range r.Peers {
					if peer.IPBlock != nil {
						out = append(out, peer.IPBlock.Prefixes()...)
					}
				}
			}
		}
	}
	return out
}
