package posture

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

const liveObjects = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d9
  namespace: shop
  uid: r1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9-x
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9, uid: r1, controller: true}]
spec:
  containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: r9, controller: true}]
spec:
  containers: [{name: web, image: nginx, securityContext: {privileged: true}}]
`

// TestScanJudgesControllers checks that what a scanned controller made is
// judged through the controller, and that a pod whose owner is not in the
// input is still judged.
func TestScanJudgesControllers(t *testing.T) {
	objs, errs := k8s.Decode([]byte(liveObjects), "live.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.Select(all, rules.Filter{IDs: []string{"KOR-POD-001"}}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(context.Background(), Checks{Rules: rs}, &k8s.Loaded{Objects: objs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Resource.Kind+"/"+f.Resource.Name)
	}
	if len(got) != 2 || got[0] != "Deployment/web" || got[1] != "Pod/orphan" {
		t.Errorf("findings on %v, want Deployment/web and Pod/orphan", got)
	}
	if rep.Summary.Resources != 2 {
		t.Errorf("summary resources = %d, want the 2 judged objects", rep.Summary.Resources)
	}
	if len(rep.Scores) == 0 || rep.Scores[0].Score != 0 {
		t.Errorf("scores = %+v, want 0 for every framework (both judged objects fail)", rep.Scores)
	}
}

// TestScanReportsWhatItDoesNotJudge checks that no object is skipped in
// silence: a misspelled kind is a warning of its own with a suggestion,
// custom kinds and kinds no selected check applies to are one warning per
// kind, and the summary counts them; a kind rules read from the inventory
// counts as used.
func TestScanReportsWhatItDoesNotJudge(t *testing.T) {
	const input = `apiVersion: apps/v1
kind: Deploymnet
metadata: {name: typo, namespace: shop}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: a, namespace: shop}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: b, namespace: shop}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec: {containers: [{name: c, image: x}]}
`
	objs, errs := k8s.Decode([]byte(input), "in.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	scan := func(ids ...string) *finding.Report {
		t.Helper()
		rs, err := rules.Compile(rules.Select(all, rules.Filter{IDs: ids}))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Scan(context.Background(), Checks{Rules: rs}, &k8s.Loaded{Objects: objs}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := scan()
	var msgs []string
	for _, w := range rep.Warnings {
		msgs = append(msgs, fmt.Sprintf("%s:%d %s", w.File, w.Line, w.Message))
	}
	want := []string{
		"in.yaml:1 not judged: API group apps has no kind Deploymnet (did you mean Deployment?)",
		"in.yaml:5 not judged: 2 object(s) of custom kind Certificate (cert-manager.io); no selected check applies to that kind (the first is here)",
	}
	if !slices.Equal(msgs, want) || rep.Summary.NotJudged != 3 {
		t.Errorf("warnings:\n%s\nnotJudged %d; want\n%s\nand 3 (LimitRange is read by inventory rules)", strings.Join(msgs, "\n"), rep.Summary.NotJudged, strings.Join(want, "\n"))
	}
	// With one rule selected, the kinds it leaves out are reported too.
	if rep := scan("KOR-POD-001"); rep.Summary.NotJudged != 4 {
		t.Errorf("with KOR-POD-001 only: notJudged %d, want 4 (%+v)", rep.Summary.NotJudged, rep.Warnings)
	}
}
