package vap

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kordon-dev/kordon/internal/rules"
)

// builtinResources maps the group/kind of built-in Kubernetes objects to
// the version and plural resource name an admission policy matches them
// by. Rules name kinds; admission matches resources. The map is never
// written to.
var builtinResources = func() map[schema.GroupKind]schema.GroupVersionResource {
	m := map[schema.GroupKind]schema.GroupVersionResource{}
	add := func(group, version string, kindResources ...string) {
		for i := 0; i < len(kindResources); i += 2 {
			m[schema.GroupKind{Group: group, Kind: kindResources[i]}] =
				schema.GroupVersionResource{Group: group, Version: version, Resource: kindResources[i+1]}
		}
	}
	add("", "v1",
		"Pod", "pods", "PodTemplate", "podtemplates", "ReplicationController", "replicationcontrollers",
		"Service", "services", "Endpoints", "endpoints", "Namespace", "namespaces",
		"ServiceAccount", "serviceaccounts", "Secret", "secrets", "ConfigMap", "configmaps",
		"PersistentVolume", "persistentvolumes", "PersistentVolumeClaim", "persistentvolumeclaims",
		"LimitRange", "limitranges", "ResourceQuota", "resourcequotas", "Node", "nodes", "Event", "events")
	add("apps", "v1",
		"Deployment", "deployments", "StatefulSet", "statefulsets", "DaemonSet", "daemonsets",
		"ReplicaSet", "replicasets", "ControllerRevision", "controllerrevisions")
	add("batch", "v1", "Job", "jobs", "CronJob", "cronjobs")
	add("networking.k8s.io", "v1",
		"Ingress", "ingresses", "IngressClass", "ingressclasses", "NetworkPolicy", "networkpolicies",
		"ServiceCIDR", "servicecidrs", "IPAddress", "ipaddresses")
	add("rbac.authorization.k8s.io", "v1",
		"Role", "roles", "ClusterRole", "clusterroles", "RoleBinding", "rolebindings",
		"ClusterRoleBinding", "clusterrolebindings")
	add("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets")
	add("admissionregistration.k8s.io", "v1",
		"ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
		"MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
		"ValidatingAdmissionPolicy", "validatingadmissionpolicies",
		"ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings")
	add("storage.k8s.io", "v1",
		"StorageClass", "storageclasses", "CSIDriver", "csidrivers", "CSINode", "csinodes",
		"VolumeAttachment", "volumeattachments", "CSIStorageCapacity", "csistoragecapacities")
	add("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions")
	add("apiregistration.k8s.io", "v1", "APIService", "apiservices")
	add("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers")
	add("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests")
	add("coordination.k8s.io", "v1", "Lease", "leases")
	add("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")
	add("events.k8s.io", "v1", "Event", "events")
	add("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses")
	add("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses")
	add("flowcontrol.apiserver.k8s.io", "v1",
		"FlowSchema", "flowschemas", "PriorityLevelConfiguration", "prioritylevelconfigurations")
	add("resource.k8s.io", "v1",
		"DeviceClass", "deviceclasses", "ResourceClaim", "resourceclaims",
		"ResourceClaimTemplate", "resourceclaimtemplates", "ResourceSlice", "resourceslices")
	return m
}()

// workloadResources are the resources of the kinds a workload rule matches
// (see rules.Match.Workloads). pods/ephemeralcontainers is included because
// adding an ephemeral container (kubectl debug) updates the Pod through that
// subresource, and allContainers covers ephemeral containers.
var workloadResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "pods/ephemeralcontainers"},
	{Version: "v1", Resource: "podtemplates"},
	{Version: "v1", Resource: "replicationcontrollers"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "batch", Version: "v1", Resource: "cronjobs"},
}

// resourcesFor returns the resources that objects of the listed groups and
// kinds ("*" matches any) are admitted as. A wildcard kind matches every
// resource of the group ("*" version and resource); a wildcard group with a
// named kind matches that kind in every group that has it.
// extra maps further kinds (custom resources) and takes precedence over
// the built-in table.
func resourcesFor(groups, kinds []string, extra map[schema.GroupKind]schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	lookup := func(gk schema.GroupKind) (schema.GroupVersionResource, bool) {
		if gvr, ok := extra[gk]; ok {
			return gvr, true
		}
		gvr, ok := builtinResources[gk]
		return gvr, ok
	}
	var out []schema.GroupVersionResource
	var unknown []string
	for _, kind := range kinds {
		for _, group := range groups {
			switch {
			case kind == "*":
				out = append(out, schema.GroupVersionResource{Group: group, Version: "*", Resource: "*"})
			case group == "*":
				n := len(out)
				for _, table := range []map[schema.GroupKind]schema.GroupVersionResource{extra, builtinResources} {
					for gk := range table {
						if gvr, _ := lookup(gk); gk.Kind == kind && !slices.Contains(out[n:], gvr) {
							out = append(out, gvr)
						}
					}
				}
				if len(out) == n {
					unknown = append(unknown, kind+" (any group)")
				}
			default:
				gvr, ok := lookup(schema.GroupKind{Group: group, Kind: kind})
				if !ok {
					unknown = append(unknown, schema.GroupKind{Group: group, Kind: kind}.String())
					continue
				}
				out = append(out, gvr)
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("no built-in resource for kind %s: an admission policy matches resources by plural name, and Kordon knows those only for built-in kinds; map custom kinds explicitly (kind, group, version and plural resource)", strings.Join(unknown, ", "))
	}
	return out, nil
}

// resourceRulesFor turns a rule's match into admission resource rules for
// CREATE and UPDATE, one per group and version, sorted.
func resourceRulesFor(m rules.Match, extra map[schema.GroupKind]schema.GroupVersionResource) ([]admissionv1.NamedRuleWithOperations, error) {
	var gvrs []schema.GroupVersionResource
	if m.Workloads {
		gvrs = append(gvrs, workloadResources...)
	}
	var errs []error
	for _, rm := range m.Resources {
		groups := slices.DeleteFunc(slices.Clone(rm.APIGroups), isConfigFileGroup)
		got, err := resourcesFor(groups, rm.Kinds, extra)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gvrs = append(gvrs, got...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	type groupVersion struct{ group, version string }
	byGV := map[groupVersion][]string{}
	var order []groupVersion
	for _, gvr := range gvrs {
		gv := groupVersion{gvr.Group, gvr.Version}
		if _, ok := byGV[gv]; !ok {
			order = append(order, gv)
		}
		if !slices.Contains(byGV[gv], gvr.Resource) {
			byGV[gv] = append(byGV[gv], gvr.Resource)
		}
	}
	slices.SortFunc(order, func(a, b groupVersion) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		return strings.Compare(a.version, b.version)
	})
	out := make([]admissionv1.NamedRuleWithOperations, 0, len(order))
	for _, gv := range order {
		resources := byGV[gv]
		if slices.Contains(resources, "*") {
			resources = []string{"*"}
		}
		slices.Sort(resources)
		out = append(out, admissionv1.NamedRuleWithOperations{
			RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule: admissionv1.Rule{
					APIGroups:   []string{gv.group},
					APIVersions: []string{gv.version},
					Resources:   resources,
				},
			},
		})
	}
	return out, nil
}
