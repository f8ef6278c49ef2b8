package isolation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/packs"
)

// TestBuiltinFixtures runs both checks on their fixtures in the built-in
// packs, as the rules package does for CEL rules.
func TestBuiltinFixtures(t *testing.T) {
	rs, err := rules.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	results, err := rules.TestFixtures(context.Background(), rs, isolation.Checks(), packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 4 {
		t.Fatalf("only %d fixture results", len(results))
	}
	for _, r := range results {
		t.Run(r.RuleID+"/"+r.File[strings.LastIndex(r.File, "/")+1:], func(t *testing.T) {
			if !r.OK() {
				t.Errorf("%s: %s", r.File, r.Problem)
			}
		})
	}
}

func TestCataloguedNative(t *testing.T) {
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range isolation.Checks() {
		r, ok := cat.Lookup(c.ID())
		if !ok || !r.IsNative() || r.ID != c.ID() {
			t.Errorf("%s: want a native rule of that ID in the catalogue, got %+v", c.ID(), r)
		}
	}
}

const objects = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-public}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: both, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [api]}]}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-by-default, namespace: shop}
spec:
  podSelector: {matchLabels: {app: worker}}
  egress: [{}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c, image: agent:1}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-node1
  namespace: shop
  annotations: {kubernetes.io/config.mirror: abc}
spec: {containers: [{name: c, image: etcd:3}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: other}
spec: {containers: [{name: c, image: busybox:1}]}
`

func TestVerdicts(t *testing.T) {
	objs, errs := k8s.Decode([]byte(objects), "objects.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := map[string]string{}
	for _, o := range append(isolation.Namespaces(c), isolation.Workloads(c)...) {
		verdict := "pass"
		if o.Failed {
			verdict = o.Message
		}
		got[o.Resource.String()] = verdict
	}
	want := map[string]string{
		"Namespace shop":      "pass",
		"Namespace empty":     "namespace empty has no NetworkPolicy",
		"Deployment shop/web": "no NetworkPolicy in namespace shop selects the pods of Deployment web (labels app=web) for egress: they can reach any address",
		"Deployment shop/api": "pass",
		// policyTypes defaults to [Ingress, Egress] when egress rules exist.
		"Deployment shop/worker": "pass",
		"Pod other/lone":         "namespace other has no NetworkPolicy, so nothing restricts the traffic of Pod lone (labels none)",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got  %q\n want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected verdict on %s: %q (host-network, mirror pods and kube-public are not judged)", k, got[k])
		}
	}
}
