package rules

import (
	"sync"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// inventoryKinds are always present in the inventory maps, so that rules can
// index them without checking for the key first.
var inventoryKinds = []string{
	"Namespace", "Pod", "PodTemplate", "ReplicationController", "Deployment", "StatefulSet",
	"DaemonSet", "ReplicaSet", "Job", "CronJob", "Service", "Ingress", "NetworkPolicy",
	"ServiceAccount", "Secret", "ConfigMap", "Role", "RoleBinding", "ClusterRole",
	"ClusterRoleBinding", "LimitRange", "ResourceQuota", "PodDisruptionBudget",
	"PersistentVolume", "PersistentVolumeClaim", "ValidatingWebhookConfiguration",
	"MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
}

// Inventory gives rules the other objects of a scan, as the CEL variable
// inventory:
//
//	inventory.cluster   map from kind to the list of all scanned objects of that kind
//	inventory.namespace map from kind to the scanned objects of that kind in the
//	                    namespace of `object` (for a Namespace: the objects in it;
//	                    for an object without a namespace: the others without one)
//	inventory.workloads the scan's workloads by namespace, then by service
//	                    account and by name; see workloadIndex
//
// Every kind in the scan, and the common kinds listed in inventoryKinds, is a
// key of both maps (with an empty list when there are none). An Inventory
// is safe for concurrent use: its objects never change, and the CEL values
// made of them are cached for the life of the Inventory.
type Inventory struct {
	kinds     []string
	cluster   map[string]any
	namespace map[string]map[string]any
	empty     map[string]any

	// values wraps the inventory's maps and lists for CEL once per scan;
	// views holds the CEL value of the inventory seen from each namespace.
	values sharedValues
	views  sync.Map
	// workloads is built on first use: only some rules read it.
	workloads func() map[string]any
}

// NewInventory indexes objects by kind and namespace.
func NewInventory(objs []*k8s.Object) *Inventory {
	inv := &Inventory{namespace: map[string]map[string]any{}}
	kindSet := map[string]bool{}
	for _, k := range inventoryKinds {
		kindSet[k] = true
	}
	for _, o := range objs {
		kindSet[o.Kind()] = true
	}
	for k := range kindSet {
		inv.kinds = append(inv.kinds, k)
	}
	inv.cluster = inv.newKindMap()
	inv.empty = inv.newKindMap()
	for _, o := range objs {
		kind := o.Kind()
		inv.cluster[kind] = append(inv.cluster[kind].([]any), o.Content)
		// Objects written without a namespace share the key "": applied
		// together they land in one namespace.
		ns := o.Namespace()
		m := inv.namespace[ns]
		if m == nil {
			m = inv.newKindMap()
			inv.namespace[ns] = m
		}
		m[kind] = append(m[kind].([]any), o.Content)
	}
	inv.workloads = sync.OnceValue(inv.workloadIndex)
	return inv
}

// workloadKinds are the kinds inventory.workloads indexes, in its order,
// with the path of their pod spec and whether their controllers (the
// ownerReferences with controller: true) are listed.
var workloadKinds = []struct {
	kind        string
	spec        []string
	controllers bool
}{
	{"Pod", []string{"spec"}, true},
	{"Deployment", []string{"spec", "template", "spec"}, false},
	{"StatefulSet", []string{"spec", "template", "spec"}, false},
	{"DaemonSet", []string{"spec", "template", "spec"}, false},
	{"ReplicaSet", []string{"spec", "template", "spec"}, true},
	{"ReplicationController", []string{"spec", "template", "spec"}, false},
	{"Job", []string{"spec", "template", "spec"}, true},
	{"CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}, false},
}

// workloadIndex builds inventory.workloads: a map from namespace to
//
//	all              the workloads of the namespace
//	serviceAccounts  a map from service account name to the workloads that run as it
//	named            a map from "Kind/name" to the workload (the first one read)
//
// A workload is a list [kind, namespace, name, service account, position,
// "Kind/name" of each controller...]: position orders workloads as the
// scan does (by kind in the order of workloadKinds, then as read), so that
// a rule gathering them from several lists can put them back in order with
// sortBy(w, w[4]). Workloads without a namespace or a pod spec are left
// out. Rules that look up the workloads of a service account use it rather
// than filtering every workload of the scan, which would make them
// quadratic in its size.
func (inv *Inventory) workloadIndex() map[string]any {
	idx := map[string]any{}
	position := int64(0)
	for _, wk := range workloadKinds {
		for _, c := range inv.cluster[wk.kind].([]any) {
			obj := c.(map[string]any)
			md := k8s.Map(obj, "metadata")
			ns, ok := md["namespace"].(string)
			spec := obj
			for _, f := range wk.spec {
				spec = k8s.Map(spec, f)
			}
			if !ok || ns == "" || spec == nil {
				continue
			}
			sa := stringOr(spec["serviceAccountName"], "")
			if sa == "" {
				sa = stringOr(spec["serviceAccount"], "")
			}
			if sa == "" {
				sa = "default"
			}
			name := stringOr(md["name"], "")
			w := []any{wk.kind, ns, name, sa, position}
			position++
			if wk.controllers {
				refs, _ := md["ownerReferences"].([]any)
				for _, r := range refs {
					ref, _ := r.(map[string]any)
					if ctl, _ := ref["controller"].(bool); ctl {
						w = append(w, stringOr(ref["kind"], "")+"/"+stringOr(ref["name"], ""))
					}
				}
			}
			entry, _ := idx[ns].(map[string]any)
			if entry == nil {
				entry = map[string]any{"all": []any{}, "serviceAccounts": map[string]any{}, "named": map[string]any{}}
				idx[ns] = entry
			}
			entry["all"] = append(entry["all"].([]any), w)
			accounts := entry["serviceAccounts"].(map[string]any)
			list, _ := accounts[sa].([]any)
			accounts[sa] = append(list, w)
			named := entry["named"].(map[string]any)
			if _, dup := named[wk.kind+"/"+name]; !dup {
				named[wk.kind+"/"+name] = w
			}
		}
	}
	return idx
}

// stringOr returns v when it is a string, else def.
func stringOr(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

func (inv *Inventory) newKindMap() map[string]any {
	m := make(map[string]any, len(inv.kinds))
	for _, k := range inv.kinds {
		m[k] = []any{}
	}
	return m
}

// valueFor returns the inventory as seen from obj, as a CEL value.
func (inv *Inventory) valueFor(obj *k8s.Object) ref.Val {
	ns := obj.Namespace()
	if obj.Kind() == "Namespace" && obj.Group() == "" {
		ns = obj.Name()
	}
	if v, ok := inv.views.Load(ns); ok {
		return v.(ref.Val)
	}
	nsMap := inv.namespace[ns]
	if nsMap == nil {
		nsMap = inv.empty
	}
	v, _ := inv.views.LoadOrStore(ns, types.NewStringInterfaceMap(&inv.values, map[string]any{"cluster": inv.cluster, "namespace": nsMap, "workloads": inv.workloads()}))
	return v.(ref.Val)
}
