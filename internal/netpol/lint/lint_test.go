package lint

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/lint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := k8s.Decode(data, "lint.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, f := range mustRun(t, c).Findings {
		seen[f.RuleID] = true
		fmt.Fprintf(&b, "%s %s %s %s:%d: %s\n", f.RuleID, f.Severity, f.Resource, f.Location.File, f.Location.Line, f.Message)
	}
	if *update {
		if err := os.WriteFile("testdata/lint.golden", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/lint.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("findings differ from testdata/lint.golden:\n%s", b.String())
	}
	for _, id := range IDs() {
		if !seen[id] {
			t.Errorf("fixture triggers no %s finding", id)
		}
	}
}

func TestCleanPolicies(t *testing.T) {
	const clean = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
    ports: [{port: 8080}]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{port: 53, protocol: UDP}]
`
	objs, _ := k8s.Decode([]byte(clean), "clean.yaml")
	c, _ := model.FromObjects(objs)
	for _, f := range mustRun(t, c).Findings {
		if f.RuleID != "KOR-NETPOL-004" { // kube-system has no workloads here
			t.Errorf("unexpected finding %s: %s", f.RuleID, f.Message)
		}
	}
}

// mustRun lints c with the built-in catalogue.
func mustRun(t testing.TB, c *model.Cluster) *Result {
	t.Helper()
	res, err := Run(builtinCatalogue(t), c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func builtinCatalogue(t testing.TB) *rules.Catalogue {
	t.Helper()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestCatalogued checks that every ID lint reports is in the catalogue,
// native and run by netpol lint, with KOR-NETPOL-001 and 002 being aliases
// of the checks kordon scan shares.
func TestCatalogued(t *testing.T) {
	cat := builtinCatalogue(t)
	for _, id := range IDs() {
		r, ok := cat.Lookup(id)
		if !ok || !r.IsNative() || !r.RunsIn(rules.EngineNetpolLint) {
			t.Errorf("%s: want a native check of netpol-lint in the catalogue, got %+v", id, r)
		}
	}
	for id, canonical := range map[string]string{NamespaceWithoutPolicyID: "KOR-NET-001", WorkloadNotIsolatedID: "KOR-NET-002"} {
		if r, _ := cat.Lookup(id); r == nil || r.ID != canonical {
			t.Errorf("%s: want an alias of %s", id, canonical)
		}
	}
}
