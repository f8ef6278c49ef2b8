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
	return inv
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
	v, _ := inv.views.LoadOrStore(ns, types.NewStringInterfaceMap(&inv.values, map[string]any{"cluster": inv.cluster, "namespace": nsMap}))
	return v.(ref.Val)
}
