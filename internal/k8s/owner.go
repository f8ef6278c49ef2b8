package k8s

import "strings"

// OwnerIndex answers which objects are managed by a workload controller in
// the same set of objects: a Pod made by a ReplicaSet, a ReplicaSet made by a
// Deployment, a Job made by a CronJob. A scanner reports the controller and
// skips what it made. Build one with NewOwnerIndex; it is safe for
// concurrent use.
type OwnerIndex struct {
	byUID map[string]*Object
	byRef map[ownerKey]*Object
}

type ownerKey struct{ group, kind, namespace, name string }

// NewOwnerIndex indexes the workload objects (see IsWorkload) among objs.
func NewOwnerIndex(objs []*Object) *OwnerIndex {
	ix := &OwnerIndex{byUID: map[string]*Object{}, byRef: map[ownerKey]*Object{}}
	for _, o := range objs {
		if !IsWorkload(o.Group(), o.Kind()) {
			continue
		}
		if uid := uidOf(o); uid != "" {
			ix.byUID[uid] = o
		}
		ix.byRef[ownerKey{o.Group(), o.Kind(), NamespaceOrDefault(o.Namespace()), o.Name()}] = o
	}
	return ix
}

// IsOwnedByWorkload reports whether o's controller (its ownerReference with
// controller: true) is a workload in the index.
func (ix *OwnerIndex) IsOwnedByWorkload(o *Object) bool { return ix.Owner(o) != nil }

// Owner returns the indexed workload that controls o, or nil. An owner
// reference matches an object of the same group, kind, namespace and name;
// when both carry a UID the UIDs must match too (an object recreated under
// the same name is not the owner). An object that names no namespace is in
// DefaultNamespace, where it would be applied, so a Pod written without
// one is owned by a ReplicaSet written with namespace "default" and the
// other way round.
func (ix *OwnerIndex) Owner(o *Object) *Object {
	ref, uid, ok := controllerRef(o)
	if !ok {
		return nil // controlled by nothing, or by something Kordon does not scan as a workload
	}
	group, ns := ref.Group(), NamespaceOrDefault(ref.Namespace)
	if owner := ix.byUID[uid]; uid != "" && owner != nil {
		if owner.Group() == group && owner.Kind() == ref.Kind && NamespaceOrDefault(owner.Namespace()) == ns {
			return owner
		}
	}
	owner := ix.byRef[ownerKey{group, ref.Kind, ns, ref.Name}]
	if owner == nil {
		return nil
	}
	if ownerUID := uidOf(owner); uid != "" && ownerUID != "" && ownerUID != uid {
		return nil
	}
	return owner
}

// TopOwner follows Owner up to the outermost indexed workload (for a Pod of
// a Deployment: the Deployment). It returns o itself when o has no indexed
// owner.
func (ix *OwnerIndex) TopOwner(o *Object) *Object {
	seen := map[*Object]bool{o: true}
	for {
		owner := ix.Owner(o)
		if owner == nil || seen[owner] {
			return o
		}
		seen[owner] = true
		o = owner
	}
}

// ReportedAs returns the workload that stands for o where one workload is
// named per controller (the network model): o's TopOwner, under the name of
// that object's controller when the controller is not in the index.
//
//   - An object without a controlling workload owner stands for itself.
//   - An object whose controller is not indexed is reported as the
//     controller: a ReplicaSet as its Deployment, a Job as its CronJob, a
//     Pod as its StatefulSet, DaemonSet, Job or ReplicaSet.
//   - A Pod whose controller is a ReplicaSet named <name>-<hash>, where
//     <hash> is the Pod's pod-template-hash label, is reported as the
//     Deployment <name> (apps/v1) that made that ReplicaSet.
//   - An object whose controller is indexed is reported as its TopOwner
//     is (a Pod of a loaded ReplicaSet of a loaded Deployment: that
//     Deployment).
//
// The returned Ref has the namespace of o as written ("" when unset).
func (ix *OwnerIndex) ReportedAs(o *Object) Ref {
	top := ix.TopOwner(o)
	ctrl, _, ok := controllerRef(top)
	if !ok {
		return top.Ref()
	}
	if top.Group() == "" && top.Kind() == "Pod" && ctrl.Group() == "apps" && ctrl.Kind == "ReplicaSet" {
		if h := top.Labels()[podTemplateHashLabel]; h != "" && strings.HasSuffix(ctrl.Name, "-"+h) {
			return Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ctrl.Namespace, Name: strings.TrimSuffix(ctrl.Name, "-"+h)}
		}
	}
	return ctrl
}

// podTemplateHashLabel is the label a Deployment puts on its ReplicaSets
// and their Pods; a ReplicaSet is named <deployment>-<hash>.
const podTemplateHashLabel = "pod-template-hash"

// controllerRef returns o's controlling owner reference (the first with
// controller: true; the API server allows one) and its UID, "" when the
// reference has none. ok is false when o has no controller or its
// controller is not a workload kind (IsWorkload), such as the Node of a
// mirror pod. The reference has o's namespace: owners are in the same
// namespace as what they own.
func controllerRef(o *Object) (ref Ref, uid string, ok bool) {
	for _, r := range Slice(Map(o.Content, "metadata"), "ownerReferences") {
		m, _ := r.(map[string]any)
		if ctrl, _ := m["controller"].(bool); !ctrl {
			continue
		}
		ref = Ref{APIVersion: str(m, "apiVersion"), Kind: str(m, "kind"), Namespace: o.Namespace(), Name: str(m, "name")}
		if !IsWorkload(ref.Group(), ref.Kind) {
			return Ref{}, "", false
		}
		return ref, str(m, "uid"), true
	}
	return Ref{}, "", false
}

func uidOf(o *Object) string { return str(Map(o.Content, "metadata"), "uid") }
