package posture

import (
	"context"
	"testing"

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
