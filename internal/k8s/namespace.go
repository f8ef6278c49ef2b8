package k8s

import (
	"fmt"
)

// Where the namespace of an object written without one came from (see
// Source.NamespaceFrom).
const (
	// NamespaceFromOption: the namespace the user gave for the inputs
	// (kordon's -n/--namespace, as kubectl apply -n).
	NamespaceFromOption = "--namespace"
	// NamespaceFromDefault: no namespace was given, so the object is in
	// DefaultNamespace, where kubectl apply without -n puts it.
	NamespaceFromDefault = "default"
	// NamespaceFromRelease: the release namespace a Helm chart is rendered
	// and installed into (--release-namespace).
	NamespaceFromRelease = "--release-namespace"
)

// clusterScoped are the built-in kinds that live outside any namespace, by
// API group. Every other built-in kind (see IsBuiltinKind) is namespaced.
// TestClusterScopedKinds compares this table with the discovery of a real
// API server.
var clusterScoped = map[string]map[string]bool{
	"": {"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true},
	"admissionregistration.k8s.io": {"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
		"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
		"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true},
	"apiextensions.k8s.io":         {"CustomResourceDefinition": true},
	"apiregistration.k8s.io":       {"APIService": true},
	"apiserverinternal.k8s.io":     {"StorageVersion": true},
	"authentication.k8s.io":        {"TokenReview": true, "SelfSubjectReview": true},
	"authorization.k8s.io":         {"SubjectAccessReview": true, "SelfSubjectAccessReview": true, "SelfSubjectRulesReview": true},
	"certificates.k8s.io":          {"CertificateSigningRequest": true, "ClusterTrustBundle": true},
	"flowcontrol.apiserver.k8s.io": {"FlowSchema": true, "PriorityLevelConfiguration": true},
	"networking.k8s.io":            {"IngressClass": true, "IPAddress": true, "ServiceCIDR": true},
	"node.k8s.io":                  {"RuntimeClass": true},
	"policy":                       {"PodSecurityPolicy": true},
	"rbac.authorization.k8s.io":    {"ClusterRole": true, "ClusterRoleBinding": true},
	"resource.k8s.io":              {"DeviceClass": true, "ResourceSlice": true, "DeviceTaintRule": true},
	"scheduling.k8s.io":            {"PriorityClass": true},
	"storage.k8s.io":               {"StorageClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true, "VolumeAttributesClass": true},
	"storagemigration.k8s.io":      {"StorageVersionMigration": true},
}

// Scope says whether objects of a kind live in a namespace.
type Scope int

const (
	// ScopeUnknown: neither a built-in kind nor a custom kind defined by a
	// CustomResourceDefinition among the objects.
	ScopeUnknown Scope = iota
	// ScopeNamespaced: objects of the kind live in a namespace.
	ScopeNamespaced
	// ScopeCluster: objects of the kind live outside any namespace.
	ScopeCluster
)

// Scopes knows the scope of the built-in kinds and of the custom kinds
// defined by CustomResourceDefinitions given to NewScopes.
type Scopes struct {
	custom map[[2]string]Scope // group, kind → scope
}

// NewScopes learns the custom kinds defined by the CustomResourceDefinitions
// among objs (spec.group, spec.names.kind and spec.scope).
func NewScopes(objs []*Object) *Scopes {
	s := &Scopes{custom: map[[2]string]Scope{}}
	for _, o := range objs {
		if o.Kind() != "CustomResourceDefinition" || o.Group() != "apiextensions.k8s.io" {
			continue
		}
		spec := Map(o.Content, "spec")
		group, kind := str(spec, "group"), str(Map(spec, "names"), "kind")
		switch str(spec, "scope") {
		case "Namespaced":
			s.custom[[2]string{group, kind}] = ScopeNamespaced
		case "Cluster":
			s.custom[[2]string{group, kind}] = ScopeCluster
		}
	}
	return s
}

// Of returns the scope of the kind in the API group.
func (s *Scopes) Of(group, kind string) Scope {
	switch {
	case clusterScoped[group][kind]:
		return ScopeCluster
	case IsBuiltinKind(group, kind):
		return ScopeNamespaced
	}
	if s != nil {
		if sc, ok := s.custom[[2]string{group, kind}]; ok {
			return sc
		}
	}
	return ScopeUnknown
}

// namespaceGiven says what namespace the objects of one input go to: the
// namespace applied to namespaced objects that name none, where it came
// from, and whether an object that names another one is reported (as
// kubectl apply -n refuses it).
type namespaceGiven struct {
	namespace string
	from      string
	strict    bool
}

// giveNamespace sets metadata.namespace of the namespaced objects (kinds
// known to be namespaced, see Scopes) that name none, and records where it
// came from in their Source. Cluster-scoped kinds and kinds of unknown
// scope are left as written. With ng.strict, an object that names another
// namespace is kept there and reported in a warning naming file and line.
func giveNamespace(objs []*Object, scopes *Scopes, ng namespaceGiven) []*InputError {
	var warns []*InputError
	for _, o := range objs {
		if scopes.Of(o.Group(), o.Kind()) != ScopeNamespaced {
			continue
		}
		switch ns := o.Namespace(); {
		case ns == "":
			setNamespace(o, ng.namespace)
			o.Source.NamespaceFrom = ng.from
		case ng.strict && ns != ng.namespace:
			warns = append(warns, &InputError{File: o.Source.File, Line: o.Source.Line,
				Err: fmt.Errorf("%s names namespace %q, not %q of --namespace (kubectl apply -n would refuse it): judged in %q",
					o.Ref(), ns, ng.namespace, ns)})
		}
	}
	return warns
}

// setNamespace sets metadata.namespace, making metadata when it is missing.
func setNamespace(o *Object, ns string) {
	md, ok := o.Content["metadata"].(map[string]any)
	if !ok {
		if o.Content["metadata"] != nil {
			return // not an object: the decoder reports it
		}
		md = map[string]any{}
		o.Content["metadata"] = md
	}
	md["namespace"] = ns
}
