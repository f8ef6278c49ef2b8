package model

import (
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
)

const owned = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-abc12
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec:
  template:
    metadata: {labels: {app: web, pod-template-hash: abc12}}
    spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc12-xyz
  namespace: shop
  labels: {app: web, pod-template-hash: abc12}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc12, controller: true}]
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.9}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-77f9d-q1
  namespace: shop
  labels: {app: api, pod-template-hash: 77f9d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-77f9d, controller: true}]
spec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-77f9d-q2
  namespace: shop
  labels: {app: api, pod-template-hash: 77f9d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-77f9d, controller: true}]
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.6}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache-8f9c7d6b5
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: cache, controller: true}]
spec:
  template:
    metadata: {labels: {app: cache, pod-template-hash: 8f9c7d6b5}}
    spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {run: solo}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`

func TestFromObjectsWorkloads(t *testing.T) {
	objs, errs := k8s.Decode([]byte(owned), "owned.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := FromObjects(objs)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	type row struct{ id, kind string }
	var got []row
	for _, w := range c.Workloads {
		got = append(got, row{w.ID(), w.Kind})
	}
	want := []row{{"default/solo", "Pod"}, {"shop/api", "Deployment"}, {"shop/cache", "Deployment"}, {"shop/web", "Deployment"}}
	if len(got) != len(want) {
		t.Fatalf("workloads = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("workload %d = %v, want %v", i, got[i], want[i])
		}
	}
	api := c.Workload("shop/api")
	if len(api.IPs) != 3 || len(api.PodNames) != 2 {
		t.Errorf("api IPs = %v, pods = %v; want 3 addresses from 2 pods", api.IPs, api.PodNames)
	}
	if web := c.Workload("shop/web"); len(web.IPs) != 1 || web.IPs[0].String() != "10.0.0.9" || len(web.PodNames) != 1 {
		t.Errorf("web IPs = %v, pods = %v; want the address and name of its pod, owned through a loaded ReplicaSet", web.IPs, web.PodNames)
	}
	if got := c.Workload("shop/web").NamedPorts("http", 0).String(); got != "TCP/80" {
		t.Errorf("web named port http = %s, want TCP/80", got)
	}
	var names []string
	for _, ns := range c.Namespaces {
		names = append(names, ns.Name+":"+ns.Labels[MetadataNameLabel])
	}
	if len(names) != 2 || names[0] != "default:default" || names[1] != "shop:shop" {
		t.Errorf("namespaces = %v, want default and shop with their name labels", names)
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name string
		sel  Selector
		want bool
	}{
		{"empty", Selector{}, true},
		{"label", Selector{MatchLabels: map[string]string{"app": "web"}}, true},
		{"label mismatch", Selector{MatchLabels: map[string]string{"app": "api"}}, false},
		{"missing label", Selector{MatchLabels: map[string]string{"env": "prod"}}, false},
		{"in", Selector{MatchExpressions: []Requirement{{"tier", OpIn, []string{"front", "back"}}}}, true},
		{"in missing key", Selector{MatchExpressions: []Requirement{{"env", OpIn, []string{"a"}}}}, false},
		{"notin", Selector{MatchExpressions: []Requirement{{"tier", OpNotIn, []string{"front"}}}}, false},
		{"notin missing key", Selector{MatchExpressions: []Requirement{{"env", OpNotIn, []string{"a"}}}}, true},
		{"exists", Selector{MatchExpressions: []Requirement{{"app", OpExists, nil}}}, true},
		{"does not exist", Selector{MatchExpressions: []Requirement{{"app", OpDoesNotExist, nil}}}, false},
		{"labels and expressions", Selector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []Requirement{{"env", OpExists, nil}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Matches(labels); got != tt.want {
				t.Errorf("%s matches %v = %v, want %v", tt.sel.String(), labels, got, tt.want)
			}
		})
	}
}

// TestFromObjectsOwnersAsScanned checks that the model folds a workload
// into its owner exactly when k8s.OwnerIndex (which the scan uses) says the
// owner is loaded: an owner reference whose UID is not the loaded object's
// names an object that was deleted and recreated.
func TestFromObjectsOwnersAsScanned(t *testing.T) {
	objs, errs := k8s.Decode([]byte(`
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-abc12, namespace: shop, uid: rs-new}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc12-new
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc12, uid: rs-new, controller: true}]
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc12-old
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc12, uid: rs-old, controller: true}]
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
`), "stale.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := FromObjects(objs)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	ix := k8s.NewOwnerIndex(objs)
	for _, o := range objs {
		if ix.Owner(o) != nil {
			continue
		}
		r := ix.ReportedAs(o)
		w := c.Workload(r.Namespace + "/" + r.Name)
		if w == nil || w.Kind != r.Kind {
			t.Errorf("%s is reported as %s, but the model has %+v", o.Ref(), r, w)
		}
	}
	w := c.Workload("shop/web-abc12")
	if w == nil || len(w.PodNames) != 2 || len(w.IPs) != 2 {
		t.Fatalf("workload shop/web-abc12 = %+v, want the ReplicaSet with both pods' names and addresses", w)
	}
	if got := w.PodNames; got[0] != "web-abc12-old" || got[1] != "web-abc12-new" {
		t.Errorf("pod names = %v, want the stale pod (reported under its ReplicaSet's name) and then the owned one (attached after)", got)
	}
}
