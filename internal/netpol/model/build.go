package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

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

func namespaceOf(o *k8s.Object) string {
	if ns := o.Namespace(); ns != "" {
		return ns
	}
	return DefaultNamespace
}

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
	var np networkingv1.NetworkPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Content, &np); err != nil {
		b.problem(o, "read NetworkPolicy: %v", err)
		return
	}
	p, err := PolicyFromAPI(&np)
	if err != nil {
		b.problem(o, "%v", err)
		return
	}
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	p.Source = o.Source
	b.ensureNamespace(p.Namespace)
	b.policies = append(b.policies, *p)
}

// MirrorPodAnnotation marks the mirror pod of a static pod.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// PolicyFromAPI converts a NetworkPolicy of the API (as an informer's
// cache holds it) to the model, applying the API server's defaults for
// policyTypes. Errors name the field the API server would reject.
func PolicyFromAPI(np *networkingv1.NetworkPolicy) (*Policy, error) {
	p := &Policy{Namespace: np.Namespace, Name: np.Name}
	sel, err := convertSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.podSelector: %w", err)
	}
	p.PodSelector = *sel
	for i, r := range np.Spec.Ingress {
		rule, err := convertRule(r.From, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("spec.ingress[%d]: %w", i, err)
		}
		p.Ingress = append(p.Ingress, rule)
	}
	for i, r := range np.Spec.Egress {
		rule, err := convertRule(r.To, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("spec.egress[%d]: %w", i, err)
		}
		p.Egress = append(p.Egress, rule)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		p.AffectsIngress = true
		p.AffectsEgress = len(np.Spec.Egress) != 0
		return p, nil
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.AffectsIngress = true
		case networkingv1.PolicyTypeEgress:
			p.AffectsEgress = true
		default:
			return nil, fmt.Errorf("spec.policyTypes: unknown type %q (want Ingress or Egress)", t)
		}
	}
	return p, nil
}

func convertSelector(s *metav1.LabelSelector) (*Selector, error) {
	out := &Selector{MatchLabels: s.MatchLabels}
	for _, r := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, Requirement{Key: r.Key, Operator: Operator(r.Operator), Values: r.Values})
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func convertRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (Rule, error) {
	var r Rule
	for i := range peers {
		peer, err := convertPeer(&peers[i])
		if err != nil {
			return Rule{}, fmt.Errorf("peer %d: %w", i, err)
		}
		r.Peers = append(r.Peers, peer)
	}
	for i := range ports {
		port, err := convertPort(&ports[i])
		if err != nil {
			return Rule{}, fmt.Errorf("ports[%d]: %w", i, err)
		}
		r.Ports = append(r.Ports, port)
	}
	return r, nil
}

func convertPeer(np *networkingv1.NetworkPolicyPeer) (Peer, error) {
	var p Peer
	if np.IPBlock != nil {
		if np.PodSelector != nil || np.NamespaceSelector != nil {
			return Peer{}, fmt.Errorf("ipBlock cannot be combined with podSelector or namespaceSelector")
		}
		cidr, err := netip.ParsePrefix(np.IPBlock.CIDR)
		if err != nil {
			return Peer{}, fmt.Errorf("ipBlock.cidr: %w", err)
		}
		block := &IPBlock{CIDR: cidr.Masked()}
		for _, e := range np.IPBlock.Except {
			ep, err := netip.ParsePrefix(e)
			if err != nil {
				return Peer{}, fmt.Errorf("ipBlock.except: %w", err)
			}
			if ep.Addr().Is4() != cidr.Addr().Is4() || !cidr.Contains(ep.Addr()) || ep.Bits() <= cidr.Bits() {
				return Peer{}, fmt.Errorf("ipBlock.except %s must be strictly within cidr %s", e, np.IPBlock.CIDR)
			}
			block.Except = append(block.Except, ep.Masked())
		}
		p.IPBlock = block
		return p, nil
	}
	if np.PodSelector == nil && np.NamespaceSelector == nil {
		return Peer{}, fmt.Errorf("must specify podSelector, namespaceSelector or ipBlock")
	}
	if np.PodSelector != nil {
		s, err := convertSelector(np.PodSelector)
		if err != nil {
			return Peer{}, fmt.Errorf("podSelector: %w", err)
		}
		p.PodSelector = s
	}
	if np.NamespaceSelector != nil {
		s, err := convertSelector(np.NamespaceSelector)
		if err != nil {
			return Peer{}, fmt.Errorf("namespaceSelector: %w", err)
		}
		p.NamespaceSelector = s
	}
	return p, nil
}

func convertPort(np *networkingv1.NetworkPolicyPort) (Port, error) {
	var p Port
	if np.Protocol != nil {
		proto, err := portset.ParseProtocol(string(*np.Protocol))
		if err != nil || string(*np.Protocol) != proto.String() {
			return Port{}, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", *np.Protocol)
		}
		p.Protocol = proto
	}
	if np.Port == nil {
		if np.EndPort != nil {
			return Port{}, fmt.Errorf("endPort needs port")
		}
		return p, nil
	}
	if np.Port.Type == intstr.String {
		p.Name = np.Port.StrVal
		if np.EndPort != nil {
			return Port{}, fmt.Errorf("endPort needs a numeric port, not %q", p.Name)
		}
		if p.Name == "" {
			return Port{}, fmt.Errorf("port name is empty")
		}
		return p, nil
	}
	p.Port = np.Port.IntVal
	if p.Port < portset.MinPort || p.Port > portset.MaxPort {
		return Port{}, fmt.Errorf("port %d out of range 1-65535", p.Port)
	}
	if np.EndPort != nil {
		if *np.EndPort < p.Port || *np.EndPort > portset.MaxPort {
			return Port{}, fmt.Errorf("endPort %d must be from port %d to 65535", *np.EndPort, p.Port)
		}
		p.EndPort = *np.EndPort
	}
	return p, nil
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
