package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
	kjson "sigs.k8s.io/json"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// Validation says which of the API server's rules apply to a NetworkPolicy.
type Validation int

const (
	// ValidateCreate judges a new object, as the API server judges a create
	// (kubectl create, or kubectl apply of an object that does not exist).
	ValidateCreate Validation = iota
	// ValidateStored judges an object the API server already holds, as it
	// judges an update that leaves the object unchanged: CIDRs and selector
	// values it accepted under older, laxer rules (such as 10.0.0.1/8 before
	// Kubernetes 1.36 made CIDR validation strict) stay accepted.
	ValidateStored
)

// DecodePolicy reads a NetworkPolicy from JSON-compatible content the way
// the API server reads a request from kubectl: field names are
// case-sensitive, a value of the wrong type is an error, and so are unknown
// and duplicate fields (kubectl's default, server-side field validation
// Strict). The error says which field.
func DecodePolicy(content map[string]any) (*networkingv1.NetworkPolicy, error) {
	data, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("read NetworkPolicy: %w", err)
	}
	var np networkingv1.NetworkPolicy
	strict, err := kjson.UnmarshalStrict(data, &np, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("read NetworkPolicy: %w", err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("strict decoding error: %w", errors.Join(strict...))
	}
	return &np, nil
}

// ValidatePolicy returns what the API server rejects in a NetworkPolicy,
// each error naming its field ("spec.ingress[0].from[1].ipBlock.cidr:
// Invalid value: ..."). It follows the validation of Kubernetes 1.36
// (k8s.io/kubernetes/pkg/apis/networking/validation) with its defaults,
// including strict CIDR validation (feature StrictIPCIDRValidation, on by
// default since 1.36): a CIDR must not have bits set beyond its prefix
// length, leading zeros or an IPv4-mapped IPv6 address. A policy without a
// namespace is judged as if it had one (kubectl fills it in).
func ValidatePolicy(np *networkingv1.NetworkPolicy, v Validation) field.ErrorList {
	meta := np.ObjectMeta
	meta.Namespace = k8s.NamespaceOrDefault(meta.Namespace)
	if meta.Name == "" && meta.GenerateName != "" {
		// The API server generates the name before validating: the prefix
		// (cut to 58 characters) and 5 random characters.
		meta.Name = meta.GenerateName[:min(len(meta.GenerateName), 58)] + "x0x0x"
	}
	errs := apimachineryvalidation.ValidateObjectMeta(&meta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	for i, f := range meta.Finalizers {
		if !strings.Contains(f, "/") && f != "kubernetes" && f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "finalizers").Index(i), f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return append(errs, validateSpec(&np.Spec, specOptions(np, v), field.NewPath("spec"))...)
}

// specOptions mirrors ValidationOptionsForNetworking and
// ValidateNetworkPolicyUpdate with the object as its own old version.
type specValidation struct {
	allowInvalidLabelValues bool
	oldCIDRs                []string
}

func specOptions(np *networkingv1.NetworkPolicy, v Validation) specValidation {
	var o specValidation
	if v != ValidateStored {
		return o
	}
	o.allowInvalidLabelValues = len(metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	for _, r := range np.Spec.Ingress {
		o.oldCIDRs = appendCIDRs(o.oldCIDRs, r.From)
	}
	for _, r := range np.Spec.Egress {
		o.oldCIDRs = appendCIDRs(o.oldCIDRs, r.To)
	}
	return o
}

func appendCIDRs(out []string, peers []networkingv1.NetworkPolicyPeer) []string {
	for _, p := range peers {
		if p.IPBlock != nil {
			out = append(append(out, p.IPBlock.CIDR), p.IPBlock.Except...)
		}
	}
	return out
}

func validateSpec(spec *networkingv1.NetworkPolicySpec, o specValidation, path *field.Path) field.ErrorList {
	sel := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: o.allowInvalidLabelValues}
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, sel, path.Child("podSelector"))
	for i, r := range spec.Ingress {
		p := path.Child("ingress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validatePort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.From {
			errs = append(errs, validatePeer(&r.From[j], o, p.Child("from").Index(j))...)
		}
	}
	for i, r := range spec.Egress {
		p := path.Child("egress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validatePort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.To {
			errs = append(errs, validatePeer(&r.To[j], o, p.Child("to").Index(j))...)
		}
	}
	types := []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	if len(spec.PolicyTypes) > len(types) {
		return append(errs, field.Invalid(path.Child("policyTypes"), &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(path.Child("policyTypes").Index(i), t, types))
		}
	}
	return errs
}

func validatePort(port *networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if pr := port.Protocol; pr != nil && *pr != "TCP" && *pr != "UDP" && *pr != "SCTP" {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *pr, []string{"TCP", "UDP", "SCTP"}))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(path.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(path.Child("endPort"), port.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(path.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func validatePeer(peer *networkingv1.NetworkPolicyPeer, o specValidation, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	sel := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: o.allowInvalidLabelValues}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, sel, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, sel, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, o, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, o specValidation, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(path.Child("cidr"), b.CIDR, true, o.oldCIDRs)
	_, cidr, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	for i, e := range b.Except {
		p := path.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(p, e, true, o.oldCIDRs)...)
		_, except, err := netutils.ParseCIDRSloppy(e)
		if err != nil {
			continue
		}
		cidrBits, _ := cidr.Mask.Size()
		exceptBits, _ := except.Mask.Size()
		if !cidr.Contains(except.IP) || cidrBits >= exceptBits {
			errs = append(errs, field.Invalid(p, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// errorText joins validation errors with "; ".
func errorText(errs field.ErrorList) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
