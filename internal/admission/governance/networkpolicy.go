package governance

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// RequireNetworkPolicy denies a Pod or workload whose pods the
// NetworkPolicies of its namespace do not isolate for ingress and egress:
// the catalogue's KOR-NET-002, reported as KOR-GOV-001 and decided by
// package isolation exactly as kordon scan and netpol lint decide it
// (host-network and mirror pods are not judged). Policies are read from a
// lister (an informer's cache), so the check costs no API call.
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
// A lister that fails is an error, not a violation.
func (p *RequireNetworkPolicy) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Object == nil || (req.Operation != Create && req.Operation != Update) {
		return nil, nil
	}
	w, ok := model.WorkloadOf(req.Object)
	if !ok {
		return nil, nil
	}
	// The request names the namespace; the object may not (a CREATE with
	// kubectl -n).
	w.Namespace, w.Name = req.Namespace, req.Name
	if w.Namespace == "" {
		w.Namespace = model.DefaultNamespace
	}
	pols, err := p.lister.NetworkPolicies(w.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list NetworkPolicies in namespace %s: %w", w.Namespace, err)
	}
	policies := make([]model.Policy, 0, len(pols))
	for _, np := range pols {
		mp, err := model.PolicyFromAPI(np)
		if err != nil {
			continue // the API server validated it; a policy that does not convert selects nothing
		}
		mp.Namespace = w.Namespace
		policies = append(policies, *mp)
	}
	o, judged := isolation.Workload(&w, policies)
	if !judged || !o.Failed {
		return nil, nil
	}
	return []Violation{{
		ID:      p.ID(),
		Message: o.Message,
		Remediation: fmt.Sprintf("Create NetworkPolicies in namespace %s whose podSelector matches these labels for ingress and egress "+
			"(or a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]) before creating the workload.", w.Namespace),
	}}, nil
}

var _ Policy = (*RequireNetworkPolicy)(nil)
