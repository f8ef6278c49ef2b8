package model_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// cluster is the control plane the package's tests share.
var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// TestRealAPIServer creates namespaces, workloads and NetworkPolicies in a
// real API server, reads them back with k8s.LoadCluster, and checks that
// the model read from the server equals the model read from the same
// manifests (so the API server's defaulting and Kordon's agree), that the
// analysis is the expected one, and that the server accepts the policies
// compile writes.
func TestRealAPIServer(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	shop, data := testenv.UniqueName("shop"), testenv.UniqueName("data")
	manifest := strings.NewReplacer("SHOP", shop, "DATA", data).Replace(manifests)
	objs, errs := k8s.Decode([]byte(manifest), "manifests.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if _, err := env.Create(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	loaded, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	var mine []*k8s.Object
	for _, o := range loaded.Objects {
		if ns := o.Namespace(); ns == shop || ns == data || (o.Kind() == "Namespace" && (o.Name() == shop || o.Name() == data)) {
			mine = append(mine, o)
		}
	}
	fromServer, problems := model.FromObjects(mine)
	if len(problems) > 0 {
		t.Fatalf("problems reading the server's objects: %v", problems)
	}
	fromFiles, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatalf("problems reading the manifests: %v", problems)
	}
	if got, want := len(fromServer.Policies), 3; got != want {
		t.Fatalf("read %d policies from the server, want %d", got, want)
	}
	for i := range fromFiles.Policies {
		a, b := fromFiles.Policies[i], fromServer.Policies[i]
		a.Source, b.Source = k8s.Source{}, k8s.Source{}
		if !reflect.DeepEqual(normalizePolicy(a), normalizePolicy(b)) {
			t.Errorf("policy %s differs:\nfrom files:  %+v\nfrom server: %+v", a.ID(), a, b)
		}
	}
	var ids []string
	for _, w := range fromServer.Workloads {
		ids = append(ids, w.Kind+" "+w.ID())
	}
	if got, want := strings.Join(ids, ", "), "StatefulSet "+data+"/db, Deployment "+shop+"/api, Deployment "+shop+"/web"; got != want && !sameSet(ids, strings.Split(want, ", ")) {
		t.Errorf("workloads = %s, want %s", got, want)
	}

	r := analyzer.Analyze(fromServer, analyzer.Options{})
	eps := r.Endpoints()
	ports := map[string]string{}
	for _, c := range r.Connections() {
		if !eps[c.Src].IsExternal() && !eps[c.Dst].IsExternal() {
			ports[eps[c.Src].Name()+" -> "+eps[c.Dst].Name()] = c.Ports.String()
		}
	}
	want := map[string]string{
		shop + "/web -> " + shop + "/api": "TCP/8080",
		shop + "/api -> " + data + "/db":  "TCP/5432-5433",
	}
	if !reflect.DeepEqual(ports, want) {
		t.Errorf("connections between workloads = %v, want %v", ports, want)
	}

	intent := strings.NewReplacer("SHOP", shop, "DATA", data).Replace(intentDoc)
	in, err := compile.Parse([]byte(intent))
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := compile.Compile(in, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range compiled.Policies {
		if _, err := env.Create(ctx, &k8s.Object{Content: o}); err != nil {
			t.Errorf("the API server rejects a compiled policy: %v", err)
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// normalizePolicy makes nil and empty maps and slices compare equal.
func normalizePolicy(p model.Policy) model.Policy {
	norm := func(s *model.Selector) {
		if s != nil && len(s.MatchLabels) == 0 {
			s.MatchLabels = nil
		}
	}
	norm(&p.PodSelector)
	for _, rules := range [][]model.Rule{p.Ingress, p.Egress} {
		for i := range rules {
			for j := range rules[i].Peers {
				norm(rules[i].Peers[j].PodSelector)
				norm(rules[i].Peers[j].NamespaceSelector)
			}
		}
	}
	return p
}

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: SHOP, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: DATA, labels: {tier: data}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: SHOP}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: SHOP}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: DATA}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: SHOP}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: SHOP}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]
  egress:
  - to: [{namespaceSelector: {matchLabels: {tier: data}}, podSelector: {matchExpressions: [{key: app, operator: In, values: [db]}]}}]
    ports: [{port: 5432, endPort: 5433}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: SHOP}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
`

const intentDoc = `
apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata: {name: it}
groups:
  web: {namespaces: [SHOP], labels: {app: web}}
  api: {namespaces: [SHOP], labels: {app: api}}
  db: {namespaces: [DATA], labels: {app: db}}
  partners: {cidrs: [198.51.100.0/24], except: [198.51.100.0/28]}
zones:
- namespaces: [SHOP, DATA]
rules:
- {from: web, to: api, ports: [tcp/http]}
- {from: api, to: db, ports: [tcp/5432-5433]}
- {from: partners, to: web, ports: [tcp/443, udp]}
`
