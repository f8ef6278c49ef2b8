package isolation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Catalogue IDs of the two checks.
const (
	NamespaceCheckID = "KOR-NET-001"
	WorkloadCheckID  = "KOR-NET-002"
)

// podlessNamespaces hold no pods by design (public ConfigMaps, node
// Leases), so they are not judged.
var podlessNamespaces = []string{"kube-public", "kube-node-lease"}

// Namespaces judges every declared namespace of c (a Namespace object of
// the input; namespaces only named by other objects are left to
// KOR-NET-002, which judges their workloads): it fails when no
// NetworkPolicy is in it. One outcome per namespace judged, in c's order.
func Namespaces(c *model.Cluster) []rules.Outcome {
	policies := map[string]int{}
	for i := range c.Policies {
		policies[c.Policies[i].Namespace]++
	}
	workloads := map[string]int{}
	for i := range c.Workloads {
		workloads[c.Workloads[i].Namespace]++
	}
	var out []rules.Outcome
	for _, ns := range c.Namespaces {
		if !ns.Declared || slices.Contains(podlessNamespaces, ns.Name) {
			continue
		}
		o := rules.Outcome{
			Resource: finding.Resource{APIVersion: "v1", Kind: "Namespace", Name: ns.Name},
			Location: location(ns.Source),
		}
		if policies[ns.Name] == 0 {
			o.Failed = true
			o.Message = "namespace " + ns.Name + " has no NetworkPolicy"
			if n := workloads[ns.Name]; n > 0 {
				o.Message += fmt.Sprintf(": the traffic of its %d workload(s) is unrestricted", n)
			}
		}
		out = append(out, o)
	}
	return out
}

// Workloads judges every workload of c against the policies of its
// namespace. Host-network and mirror pods are not judged.
func Workloads(c *model.Cluster) []rules.Outcome {
	byNamespace := map[string][]*model.Policy{}
	for i := range c.Policies {
		p := &c.Policies[i]
		byNamespace[p.Namespace] = append(byNamespace[p.Namespace], p)
	}
	var out []rules.Outcome
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if o, judged := judge(w, byNamespace[w.Namespace]); judged {
			out = append(out, o)
		}
	}
	return out
}

// Workload judges one workload against the policies of its namespace (the
// others are ignored). judged is false for host-network and mirror pods,
// which NetworkPolicies do not govern.
func Workload(w *model.Workload, policies []model.Policy) (o rules.Outcome, judged bool) {
	same := make([]*model.Policy, 0, len(policies))
	for i := range policies {
		if policies[i].Namespace == w.Namespace {
			same = append(same, &policies[i])
		}
	}
	return judge(w, same)
}

// judge decides one workload; policies are those of its namespace.
func judge(w *model.Workload, policies []*model.Policy) (rules.Outcome, bool) {
	if w.HostNetwork || w.Mirror {
		return rules.Outcome{}, false
	}
	o := rules.Outcome{
		Resource: finding.Resource{APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name},
		Location: location(w.Source),
	}
	var ingress, egress bool
	for _, p := range policies {
		if p.Selects(w) {
			ingress = ingress || p.AffectsIngress
			egress = egress || p.AffectsEgress
		}
	}
	if ingress && egress {
		return o, true
	}
	o.Failed = true
	what := "the pods of " + w.Kind + " " + w.Name
	if w.Kind == "Pod" {
		what = "Pod " + w.Name
	}
	labels := describeLabels(w.Labels)
	switch {
	case len(policies) == 0:
		o.Message = fmt.Sprintf("namespace %s has no NetworkPolicy, so nothing restricts the traffic of %s (labels %s)", w.Namespace, what, labels)
	case !ingress && !egress:
		o.Message = fmt.Sprintf("no NetworkPolicy in namespace %s selects %s (labels %s) for ingress or egress: that traffic is unrestricted", w.Namespace, what, labels)
	case !ingress:
		o.Message = fmt.Sprintf("no NetworkPolicy in namespace %s selects %s (labels %s) for ingress: any pod of the cluster can connect to them", w.Namespace, what, labels)
	default:
		o.Message = fmt.Sprintf("no NetworkPolicy in namespace %s selects %s (labels %s) for egress: they can reach any address", w.Namespace, what, labels)
	}
	return o, true
}

func location(s k8s.Source) *finding.Location {
	if s.File == "" {
		return nil
	}
	return &finding.Location{File: s.File, Line: s.Line, NamespaceFrom: s.NamespaceFrom}
}

func describeLabels(l map[string]string) string {
	if len(l) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(l))
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
