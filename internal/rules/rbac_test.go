package rules

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// TestWorkloadRepresentedByController checks how KOR-RBAC-015 names the
// workloads that run as an over-privileged account: a ReplicaSet and its
// Pods are represented by the Deployment that owns them, while a Pod whose
// ownerReferences name anything that is not reported itself is named.
func TestWorkloadRepresentedByController(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := ByID(all, "KOR-RBAC-015")
	if !ok {
		t.Fatal("no rule KOR-RBAC-015")
	}
	rs, err := Compile([]*Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	const manifests = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: runner-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: runner, namespace: ci}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ci}
spec: {template: {spec: {serviceAccountName: runner, containers: [{name: a, image: x}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f
  namespace: ci
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec: {template: {spec: {serviceAccountName: runner, containers: [{name: a, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f-x2
  namespace: ci
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u2, controller: true}]
spec: {serviceAccountName: runner, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: sneaky
  namespace: ci
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: elsewhere, uid: u3, controller: true}]
spec: {serviceAccountName: runner, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f-x3
  namespace: other
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u4, controller: true}]
spec: {serviceAccountName: runner, containers: [{name: a, image: x}]}
`
	objs, errs := k8s.Decode([]byte(manifests), "rbac.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	res, err := rs.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(res.Findings), res.Findings)
	}
	msg := res.Findings[0].Message
	for _, want := range []string{"Deployment ci/web (runner)", "Pod ci/sneaky (runner)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %s", msg, want)
		}
	}
	for _, hidden := range []string{"ReplicaSet", "web-5d4f-x2", "web-5d4f-x3"} {
		if strings.Contains(msg, hidden) {
			t.Errorf("message %q names %s, which its controller represents or which runs as another account", msg, hidden)
		}
	}
}

// TestWorkloadsOfAccounts checks that KOR-RBAC-015, which looks the
// workloads of the bound accounts up in inventory.workloads, finds exactly
// the workloads that run as them (service accounts named twice, a group
// of a namespace's service accounts, an account in another namespace left
// out) and names them in the scan's order whatever the order of the
// subjects.
func TestWorkloadsOfAccounts(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := ByID(all, "KOR-RBAC-015")
	if !ok {
		t.Fatal("no rule KOR-RBAC-015")
	}
	rs, err := Compile([]*Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	const manifests = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: operator}
subjects:
  - {kind: ServiceAccount, name: b, namespace: one}
  - {kind: Group, name: "system:serviceaccounts:two"}
  - {kind: ServiceAccount, name: a, namespace: one}
  - {kind: ServiceAccount, name: b, namespace: one}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d1, namespace: one}
spec: {template: {spec: {serviceAccountName: a, containers: [{name: c, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: one}
spec: {serviceAccountName: b, containers: [{name: c, image: x}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s2, namespace: two}
spec: {template: {spec: {containers: [{name: c, image: x}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: c2, namespace: two}
spec: {jobTemplate: {spec: {template: {spec: {serviceAccount: old, containers: [{name: c, image: x}]}}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d3, namespace: three}
spec: {template: {spec: {serviceAccountName: a, containers: [{name: c, image: x}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d4, namespace: one}
spec: {template: {spec: {serviceAccountName: other, containers: [{name: c, image: x}]}}}
`
	objs, errs := k8s.Decode([]byte(manifests), "rbac.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	res, err := rs.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(res.Findings), res.Findings)
	}
	got := res.Findings[0].Message
	want := `ClusterRole operator grants "*" verbs on "*" resources through ClusterRoleBinding operator to the service account of ` +
		`Pod one/p1 (b), Deployment one/d1 (a), StatefulSet two/s2 (default), CronJob two/c2 (old)`
	if got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
}

// TestWorkloadIndex checks inventory.workloads: by namespace, every
// workload, by service account and by "Kind/name", with controllers for
// Pods, ReplicaSets and Jobs; objects without a namespace or pod spec are
// left out.
func TestWorkloadIndex(t *testing.T) {
	const manifests = `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns
  ownerReferences: [{kind: ReplicaSet, name: rs, controller: true}, {kind: Other, name: o}]
spec: {containers: [{name: c, image: x}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: ns}
spec: {template: {spec: {serviceAccountName: app, containers: [{name: c, image: x}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nospec, namespace: ns}
spec: {}
`
	objs, errs := k8s.Decode([]byte(manifests), "index.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	// Decode gives no namespace to objects, so one without it is added here.
	noNS := &k8s.Object{Content: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "floating"}, "spec": map[string]any{}}}
	idx := NewInventory(append(objs, noNS)).workloads()
	pod := []any{"Pod", "ns", "p", "default", int64(0), "ReplicaSet/rs"}
	rs := []any{"ReplicaSet", "ns", "rs", "app", int64(1)}
	want := map[string]any{"ns": map[string]any{
		"all":             []any{pod, rs},
		"serviceAccounts": map[string]any{"default": []any{pod}, "app": []any{rs}},
		"named":           map[string]any{"Pod/p": pod, "ReplicaSet/rs": rs},
	}}
	if !reflect.DeepEqual(idx, want) {
		t.Errorf("index\n got %v\nwant %v", idx, want)
	}
}
