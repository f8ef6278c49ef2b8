package model

import (
	"net/netip"
	"slices"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Namespace is a namespace and its labels. Every namespace carries the
// kubernetes.io/metadata.name label that the API server sets.
type Namespace struct {
	Name   string
	Labels map[string]string
	// Declared is true for a Namespace object of the input; false for a
	// namespace known only because objects name it.
	Declared bool
	Source   k8s.Source
}

// ContainerPort is a port a container declares; Name is empty for unnamed
// ports.
type ContainerPort struct {
	Name     string
	Protocol portset.Protocol
	Port     int32
}

// Workload is a set of pods with one pod template: a bare Pod, or a
// workload controller (Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Job, CronJob, PodTemplate). Pods owned by a
// controller are reported under the controller's kind and name.
type Workload struct {
	Namespace  string
	Name       string
	Kind       string
	APIVersion string
	// Labels are the labels of the pods (the pod template's labels).
	Labels map[string]string
	// Ports are the container ports of all containers.
	Ports []ContainerPort
	// IPs are pod addresses known from pod status, used to map flow logs.
	IPs []netip.Addr
	// PodNames are names of pods known to belong to the workload.
	PodNames []string
	// HostNetwork is true when the pods use the node's network namespace:
	// NetworkPolicies do not govern them.
	HostNetwork bool
	// Mirror is true for a mirror pod (the API server's copy of a static
	// pod the kubelet runs from a file).
	Mirror bool
	Source k8s.Source
}

// ID returns namespace/name.
func (w *Workload) ID() string { return w.Namespace + "/" + w.Name }

// NamedPorts returns the port numbers of the container ports with this name
// and protocol.
func (w *Workload) NamedPorts(name string, p portset.Protocol) portset.Set {
	var s portset.Set
	for _, cp := range w.Ports {
		if cp.Name == name && cp.Protocol == p {
			s = s.Union(portset.Single(p, cp.Port))
		}
	}
	return s
}

// IPBlock is a peer given by address: CIDR minus the Except blocks.
type IPBlock struct {
	CIDR   netip.Prefix
	Except []netip.Prefix
}

// Contains reports whether the address is in the CIDR and in none of the
// exceptions.
func (b *IPBlock) Contains(a netip.Addr) bool {
	a = a.Unmap()
	if !b.CIDR.Contains(a) {
		return false
	}
	for _, e := range b.Except {
		if e.Contains(a) {
			return false
		}
	}
	return true
}

// Prefixes returns the CIDR and the exceptions.
func (b *IPBlock) Prefixes() []netip.Prefix { return append([]netip.Prefix{b.CIDR}, b.Except...) }

// Peer is one entry of a rule's from or to list. Exactly one of IPBlock or
// the selectors is set. With only PodSelector, the peer is pods in the
// policy's namespace; with only NamespaceSelector, every pod in matching
// namespaces; with both, matching pods in matching namespaces.
type Peer struct {
	PodSelector       *Selector
	NamespaceSelector *Selector
	IPBlock           *IPBlock
}

// Port is one entry of a rule's ports list. Port 0 with no Name means every
// port of the protocol; EndPort, when not 0, makes Port..EndPort a range.
type Port struct {
	Protocol portset.Protocol
	Port     int32
	Name     string
	EndPort  int32
}

// Rule is one ingress or egress rule. No peers means every peer (pods and
// external addresses); no ports means every port.
type Rule struct {
	Peers []Peer
	Ports []Port
}

// Direction tells ingress from egress.
type Direction int

// The directions.
const (
	Ingress Direction = iota
	Egress
)

// String returns "ingress" or "egress".
func (d Direction) String() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

// Policy is a NetworkPolicy.
type Policy struct {
	Namespace   string
	Name        string
	PodSelector Selector
	Ingress     []Rule
	Egress      []Rule
	// AffectsIngress and AffectsEgress are the policy types, with the API
	// defaults applied: Ingress always, Egress when egress rules exist.
	AffectsIngress bool
	AffectsEgress  bool
	Source         k8s.Source
}

// ID returns namespace/name.
func (p *Policy) ID() string { return p.Namespace + "/" + p.Name }

// Affects reports whether the policy isolates selected pods in the direction.
func (p *Policy) Affects(d Direction) bool {
	if d == Egress {
		return p.AffectsEgress
	}
	return p.AffectsIngress
}

// Rules returns the rules of one direction (nil when the policy does not
// affect that direction: rules of a type not in policyTypes are ignored).
func (p *Policy) Rules(d Direction) []Rule {
	if !p.Affects(d) {
		return nil
	}
	if d == Egress {
		return p.Egress
	}
	return p.Ingress
}

// Selects reports whether the policy applies to the workload.
func (p *Policy) Selects(w *Workload) bool {
	return p.Namespace == w.Namespace && p.PodSelector.Matches(w.Labels)
}

// Cluster is everything the analysis needs: namespaces, workloads and
// policies, each sorted by namespace and name.
type Cluster struct {
	Namespaces []Namespace
	Workloads  []Workload
	Policies   []Policy
}

// Namespace returns the namespace with this name, or nil.
func (c *Cluster) Namespace(name string) *Namespace {
	i, ok := slices.BinarySearchFunc(c.Namespaces, name, func(n Namespace, name string) int {
		switch {
		case n.Name < name:
			return -1
		case n.Name > name:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &c.Namespaces[i]
}

// NamespaceLabels returns the labels of the namespace; a namespace that
// was not loaded has only its kubernetes.io/metadata.name label.
func (c *Cluster) NamespaceLabels(name string) map[string]string {
	if ns := c.Namespace(name); ns != nil {
		return ns.Labels
	}
	return map[string]string{MetadataNameLabel: name}
}

// Workload returns the workload with this namespace/name ID, or nil.
func (c *Cluster) Workload(id string) *Workload {
	for i := range c.Workloads {
		if c.Workloads[i].ID() == id {
			return &c.Workloads[i]
		}
	}
	return nil
}

// MetadataNameLabel is the label the API server puts on every namespace,
// holding its name.
const MetadataNameLabel = "kubernetes.io/metadata.name"

// PeerMatchesPod reports whether a selector peer of a policy in policyNS
// matches a pod with these labels in namespace podNS whose namespace has
// nsLabels. IPBlock peers never match pods: Kordon treats ipBlocks as
// addresses outside the cluster.
func PeerMatchesPod(peer *Peer, policyNS, podNS string, nsLabels, podLabels map[string]string) bool {
	if peer.IPBlock != nil {
		return false
	}
	if peer.NamespaceSelector == nil {
		if podNS != policyNS {
			return false
		}
	} else if !peer.NamespaceSelector.Matches(nsLabels) {
		return false
	}
	return peer.PodSelector == nil || peer.PodSelector.Matches(podLabels)
}

// PortSet returns the ports a rule port allows toward a destination pod
// with the given container ports (used to resolve named ports); dst is nil
// for external destinations, where a named port resolves to nothing.
func (p *Port) PortSet(dst *Workload) portset.Set {
	switch {
	case p.Name != "":
		if dst == nil {
			return portset.Empty()
		}
		return dst.NamedPorts(p.Name, p.Protocol)
	case p.Port == 0:
		return portset.AllOf(p.Protocol)
	case p.EndPort != 0:
		return portset.Range(p.Protocol, p.Port, p.EndPort)
	}
	return portset.Single(p.Protocol, p.Port)
}

// RulePorts returns the ports a rule allows toward a destination pod (nil
// for an external destination): every port when the rule lists none.
func (r *Rule) RulePorts(dst *Workload) portset.Set {
	if len(r.Ports) == 0 {
		return portset.All()
	}
	var s portset.Set
	for i := range r.Ports {
		s = s.Union(r.Ports[i].PortSet(dst))
	}
	return s
}

// HasNamedPorts reports whether any port of the rule is given by name.
func (r *Rule) HasNamedPorts() bool {
	for _, p := range r.Ports {
		if p.Name != "" {
			return true
		}
	}
	return false
}
