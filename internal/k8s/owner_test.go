package k8s

import "testing"

func TestOwnerIndex(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a, uid: d1}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: a
  uid: rs1
  ownerReferences:
    - {apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x
  namespace: a
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: rs1, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: a
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: rs9, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: stale-uid
  namespace: a
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: old, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: other-namespace
  namespace: b
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: not-controller
  namespace: a
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: rs1}
---
apiVersion: v1
kind: Pod
metadata:
  name: mirror
  namespace: kube-system
  ownerReferences:
    - {apiVersion: v1, kind: Node, name: node-1, uid: n1, controller: true}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: a}
spec: {jobTemplate: {spec: {template: {spec: {containers: []}}}}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-29000000
  namespace: a
  ownerReferences:
    - {apiVersion: batch/v1, kind: CronJob, name: nightly, uid: c1, controller: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: nightly-29000000-abc
  namespace: a
  ownerReferences:
    - {apiVersion: batch/v1, kind: Job, name: nightly-29000000, controller: true}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: a}
`
	objs, errs := Decode([]byte(in), "owners.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ix := NewOwnerIndex(objs)
	tests := []struct {
		kind, namespace, name string
		owner, top            string // "" = none / itself
	}{
		{"Deployment", "a", "web", "", "Deployment a/web"},
		{"ReplicaSet", "a", "web-5d8f", "Deployment a/web", "Deployment a/web"},
		{"Pod", "a", "web-5d8f-x", "ReplicaSet a/web-5d8f", "Deployment a/web"},
		{"Pod", "a", "orphan", "", "Pod a/orphan"},
		{"Pod", "a", "stale-uid", "", "Pod a/stale-uid"},
		{"Pod", "b", "other-namespace", "", "Pod b/other-namespace"},
		{"Pod", "a", "not-controller", "", "Pod a/not-controller"},
		{"Pod", "kube-system", "mirror", "", "Pod kube-system/mirror"},
		// The CronJob has no uid, the Job's reference has one: matched by name.
		{"Job", "a", "nightly-29000000", "CronJob a/nightly", "CronJob a/nightly"},
		{"Pod", "a", "nightly-29000000-abc", "Job a/nightly-29000000", "CronJob a/nightly"},
		{"Pod", "a", "bare", "", "Pod a/bare"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			o := find(t, objs, tt.kind, tt.namespace, tt.name)
			var got string
			if owner := ix.Owner(o); owner != nil {
				got = owner.Ref().String()
			}
			if got != tt.owner {
				t.Errorf("Owner = %q, want %q", got, tt.owner)
			}
			if ix.IsOwnedByWorkload(o) != (tt.owner != "") {
				t.Errorf("IsOwnedByWorkload = %v, want %v", !(tt.owner != ""), tt.owner != "")
			}
			if got := ix.TopOwner(o).Ref().String(); got != tt.top {
				t.Errorf("TopOwner = %q, want %q", got, tt.top)
			}
		})
	}
}

func TestOwnerIndexCycle(t *testing.T) {
	in := `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: a
  namespace: x
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: b, controller: true}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: b
  namespace: x
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: a, controller: true}]
`
	objs, _ := Decode([]byte(in), "cycle.yaml")
	ix := NewOwnerIndex(objs)
	if got := ix.TopOwner(objs[0]).Name(); got != "b" {
		t.Errorf("TopOwner = %s, want b (stops at the cycle)", got)
	}
}

func TestOwnerIndexReportedAs(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a, uid: d1}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: a
  uid: rs1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x
  namespace: a
  labels: {pod-template-hash: 5d8f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: rs1, controller: true}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache-7b9c
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: cache, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: cache-7b9c-y
  namespace: a
  labels: {pod-template-hash: 7b9c}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: cache-7b9c, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: api-77f9d-q1
  namespace: a
  labels: {pod-template-hash: 77f9d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-77f9d, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: odd-abc-q1
  namespace: a
  labels: {pod-template-hash: zzz}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: odd-abc, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, controller: true}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-29000000
  namespace: a
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: nightly-29000000-abc
  namespace: a
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly-29000000, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: mirror
  namespace: kube-system
  ownerReferences: [{apiVersion: v1, kind: Node, name: node-1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
`
	objs, errs := Decode([]byte(in), "owners.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ix := NewOwnerIndex(objs)
	tests := []struct {
		kind, namespace, name string
		want                  string // apiVersion Kind namespace/name
	}{
		{"Deployment", "a", "web", "apps/v1 Deployment a/web"},
		// Owned through loaded controllers: the top-most one.
		{"ReplicaSet", "a", "web-5d8f", "apps/v1 Deployment a/web"},
		{"Pod", "a", "web-5d8f-x", "apps/v1 Deployment a/web"},
		// The top-most loaded owner's controller is not loaded.
		{"ReplicaSet", "a", "cache-7b9c", "apps/v1 Deployment a/cache"},
		{"Pod", "a", "cache-7b9c-y", "apps/v1 Deployment a/cache"},
		// Pod of an unloaded ReplicaSet: its Deployment when the hash fits.
		{"Pod", "a", "api-77f9d-q1", "apps/v1 Deployment a/api"},
		{"Pod", "a", "odd-abc-q1", "apps/v1 ReplicaSet a/odd-abc"},
		{"Pod", "a", "db-0", "apps/v1 StatefulSet a/db"},
		{"Job", "a", "nightly-29000000", "batch/v1 CronJob a/nightly"},
		{"Pod", "a", "nightly-29000000-abc", "batch/v1 CronJob a/nightly"},
		// Controlled by no workload: itself.
		{"Pod", "kube-system", "mirror", "v1 Pod kube-system/mirror"},
		{"Pod", "", "bare", "v1 Pod bare"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			r := ix.ReportedAs(find(t, objs, tt.kind, tt.namespace, tt.name))
			if got := r.APIVersion + " " + r.String(); got != tt.want {
				t.Errorf("ReportedAs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOwnerIndexDefaultNamespace: an object that names no namespace is in
// "default", so it owns and is owned by objects written with namespace
// default (a manifest applied without -n next to a dump of the cluster),
// but not by objects of another namespace.
func TestOwnerIndexDefaultNamespace(t *testing.T) {
	in := `apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-29000000
  namespace: default
  uid: j1
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: c1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: nightly-29000000-abc
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly-29000000, uid: j1, controller: true}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: default
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: db-1
  namespace: other
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, controller: true}]
`
	objs, errs := Decode([]byte(in), "owners.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ix := NewOwnerIndex(objs)
	tests := []struct {
		kind, namespace, name string
		owner, reportedAs     string
	}{
		{"Pod", "", "nightly-29000000-abc", "Job default/nightly-29000000", "CronJob default/nightly"},
		{"Pod", "default", "db-0", "StatefulSet db", "StatefulSet db"},
		{"Pod", "other", "db-1", "", "StatefulSet other/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := find(t, objs, tt.kind, tt.namespace, tt.name)
			var got string
			if owner := ix.Owner(o); owner != nil {
				got = owner.Ref().String()
			}
			if got != tt.owner {
				t.Errorf("Owner = %q, want %q", got, tt.owner)
			}
			if got := ix.ReportedAs(o).String(); got != tt.reportedAs {
				t.Errorf("ReportedAs = %q, want %q", got, tt.reportedAs)
			}
		})
	}
}
