package governance

import (
	"context"
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// RequireNetworkPolicy denies a Pod or workload whose pods no NetworkPolicy
// in its namespace selects. Policies are read from a lister (an informer's
// cache), so the check costs no API call.
type RequireNetworkPolicy struct {
	lister networkinglisters.NetworkPolicyLister
}

// NewRequireNetworkPolicy returns the policy reading NetworkPolicies from lister.
func NewRequireNetworkPolicy(lister networkinglisters.NetworkPolicyLister) *RequireNetworkPolicy {
	return &RequireNetworkPolicy{lister: lister}
}

// ID implements Policy.
func (p *RequireNetworkPolicy) ID() string { return RequireNetworkPolicyID }

// Check implements Policy. Only CREATE and UPDATE of workloads are checked.
func (p *RequireNetworkPolicy) Check(_ context.Context, req *Request) []Violation {
	if req.Object == nil || (req.Operation != Create && req.Operation != Update) {
		return nil
	}
	meta, _, ok := k8s.PodTemplate(req.Object)
	if !ok {
		return nil
	}
	podLabels := labels.Set(k8s.StringMap(meta, "labels"))
	ns := req.Namespace
	pols, err := p.lister.NetworkPolicies(ns).List(labels.Everything())
	if err != nil {
		return []Violation{{ID: p.ID(), Message: fmt.Sprintf("cannot list NetworkPolicies in namespace %s: %v", ns, err),
			Remediation: "Check the webhook's informer cache and RBAC (list/watch networkpolicies)."}}
	}
	if selected(pols, podLabels) {
		return nil
	}
	what := "pods of " + req.Kind + " " + req.Name
	if req.Kind == "Pod" {
		what = "Pod " + req.Name
	}
	msg := fmt.Sprintf("no NetworkPolicy in namespace %s selects %s (labels %s)", ns, what, describeLabels(podLabels))
	if len(pols) == 0 {
		msg = fmt.Sprintf("namespace %s has no NetworkPolicy, so nothing restricts the traffic of %s (labels %s)", ns, what, describeLabels(podLabels))
	}
	return []Violation{{
		ID:      p.ID(),
		Message: msg,
		Remediation: fmt.Sprintf("Create a NetworkPolicy in namespace %s whose podSelector matches these labels "+
			"(or a default-deny policy with podSelector: {}) before creating the workload.", ns),
	}}
}

// selected reports whether one of the policies selects pods with these labels.
func selected(pols []*networkingv1.NetworkPolicy, podLabels labels.Set) bool {
	for _, np := range pols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			continue // the API server validates selectors; skip a broken one
		}
		if sel.Matches(podLabels) {
			return true
		}
	}
	return false
}

func describeLabels(l labels.Set) string {
	if len(l) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}
