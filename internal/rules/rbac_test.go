package rules

import (
	"context"
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
