package posture

import (
	"context"
	"slices"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/rules"
)

// stagingObjects and prodObjects are two units: staging holds a workload
// bound to cluster-admin through its service account and a default-deny
// NetworkPolicy; prod the same workload without either.
const stagingObjects = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]
`

const prodObjects = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
`

// TestEvaluateByUnit checks that each unit of input is judged on its own:
// inventory rules and native checks see only the objects of the unit,
// every finding names its unit, an object of two units is reported in
// both, and tallies add up over the units.
func TestEvaluateByUnit(t *testing.T) {
	decode := func(text, file string, u *k8s.Unit) []*k8s.Object {
		objs, errs := k8s.Decode([]byte(text), file)
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		for _, o := range objs {
			o.Unit = u
		}
		return objs
	}
	staging := &k8s.Unit{Kind: k8s.UnitPath, Path: "staging", Namespace: "default"}
	prod := &k8s.Unit{Kind: k8s.UnitPath, Path: "prod", Namespace: "default"}
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.Select(all, rules.Filter{IDs: []string{"KOR-POD-001", "KOR-RBAC-015"}}))
	if err != nil {
		t.Fatal(err)
	}
	checks := Checks{Rules: rs, Native: isolation.Checks()}

	scan := func(objs []*k8s.Object) []string {
		t.Helper()
		rep, err := Scan(context.Background(), checks, &k8s.Loaded{Objects: objs}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.RuleID+" "+f.Resource.Kind+" @"+f.Unit.String())
		}
		slices.Sort(got)
		return got
	}
	objs := append(decode(stagingObjects, "staging/app.yaml", staging), decode(prodObjects, "prod/app.yaml", prod)...)
	want := []string{
		"KOR-NET-001 Namespace @path prod",
		"KOR-NET-002 Deployment @path prod",
		"KOR-POD-001 Deployment @path prod",
		"KOR-POD-001 Deployment @path staging",
		"KOR-RBAC-015 ClusterRoleBinding @path staging",
	}
	if got := scan(objs); !slices.Equal(got, want) {
		t.Errorf("by unit: findings %q, want %q", got, want)
	}
	// The same objects as one cluster (no units): staging's policy and
	// binding reach prod's objects, as before units.
	for _, o := range objs {
		o.Unit = nil
	}
	want = []string{
		"KOR-POD-001 Deployment @",
		"KOR-POD-001 Deployment @",
		"KOR-RBAC-015 ClusterRoleBinding @",
	}
	if got := scan(objs); !slices.Equal(got, want) {
		t.Errorf("one cluster: findings %q, want %q", got, want)
	}

	// Tallies add up: KOR-POD-001 is evaluated on both Deployments, one
	// per unit, and fails on both.
	objs = append(decode(stagingObjects, "staging/app.yaml", staging), decode(prodObjects, "prod/app.yaml", prod)...)
	in, err := Evaluate(context.Background(), checks, &k8s.Loaded{Objects: objs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tally := range in.Tallies {
		if tally.RuleID == "KOR-POD-001" && (tally.Evaluated != 2 || tally.Failed != 2) {
			t.Errorf("KOR-POD-001 tally %+v, want 2 evaluated, 2 failed", tally)
		}
	}
	if n := len(in.Tallies); n != 4 {
		t.Errorf("%d tallies, want one per check (4)", n)
	}
}
