package k8s

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
		ix.byRef[ownerKey{o.Group(), o.Kind(), o.Namespace(), o.Name()}] = o
	}
	return ix
}

// IsOwnedByWorkload reports whether o's controller (its ownerReference with
// controller: true) is a workload in the index.
func (ix *OwnerIndex) IsOwnedByWorkload(o *Object) bool { return ix.Owner(o) != nil }

// Owner returns the indexed workload that controls o, or nil. An owner
// reference matches an object of the same group, kind, namespace and name;
// when both carry a UID the UIDs must match too (an object recreated under
// the same name is not the owner).
func (ix *OwnerIndex) Owner(o *Object) *Object {
	for _, r := range Slice(Map(o.Content, "metadata"), "ownerReferences") {
		ref, _ := r.(map[string]any)
		if ctrl, _ := ref["controller"].(bool); !ctrl {
			continue
		}
		group, kind := GroupOf(str(ref, "apiVersion")), str(ref, "kind")
		if !IsWorkload(group, kind) {
			return nil // controlled by something Kordon does not scan as a workload
		}
		uid := str(ref, "uid")
		if owner := ix.byUID[uid]; uid != "" && owner != nil {
			if owner.Group() == group && owner.Kind() == kind && owner.Namespace() == o.Namespace() {
				return owner
			}
		}
		owner := ix.byRef[ownerKey{group, kind, o.Namespace(), str(ref, "name")}]
		if owner == nil {
			return nil
		}
		if ownerUID := uidOf(owner); uid != "" && ownerUID != "" && ownerUID != uid {
			return nil
		}
		return owner
	}
	return nil
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

func uidOf(o *Object) string { return str(Map(o.Content, "metadata"), "uid") }
