package diff

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// shop denies all traffic in namespace shop; allow (with PORT replaced)
// lets web reach api on one port.
const (
	shop = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {metadata: {labels: {app: api}}, spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`
	allow = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-to-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: PORT}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: PORT}]}]
`
)

func cluster(t *testing.T, yaml string) *model.Cluster {
	t.Helper()
	objs, errs := k8s.Decode([]byte(yaml), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	return c
}

func TestDiff(t *testing.T) {
	on := func(port string) string { return shop + strings.ReplaceAll(allow, "PORT", port) }
	change := func(kind string, old, new, added, removed []string) Change {
		return Change{Change: kind, Src: "shop/web", SrcKind: "Deployment", Dst: "shop/api", DstKind: "Deployment",
			Old: old, New: new, AddedPorts: added, RemovedPorts: removed}
	}
	none := []string{}
	tests := []struct {
		name     string
		old, new string
		want     []Change
	}{
		{"same", on("8080"), on("8080"), nil},
		{"changed", on("8080"), on("9090"), []Change{change(Changed, []string{"TCP/8080"}, []string{"TCP/9090"}, []string{"TCP/9090"}, []string{"TCP/8080"})}},
		{"added", shop, on("8080"), []Change{change(Added, none, []string{"TCP/8080"}, []string{"TCP/8080"}, none)}},
		{"removed", on("8080"), shop, []Change{change(Removed, []string{"TCP/8080"}, none, none, []string{"TCP/8080"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, new := cluster(t, tt.old), cluster(t, tt.new)
			if got := Diff(old, new); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got := pairwise(old, new); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Pair over every connection, then Sort =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// pairwise compares every pair of endpoints with Pair, as a caller that
// knows nothing about which connections changed would.
func pairwise(old, new *model.Cluster) []Change {
	extra := append(old.IPBlockPrefixes(), new.IPBlockPrefixes()...)
	before := analyzer.Analyze(old, analyzer.Options{ExtraPrefixes: extra})
	after := analyzer.Analyze(new, analyzer.Options{ExtraPrefixes: extra})
	eps := before.Endpoints()
	var out []Change
	for src := range eps {
		for dst := range eps {
			if ch, ok := Pair(eps[src], eps[dst], before.Ports(src, dst), after.Ports(src, dst)); ok {
				out = append(out, ch)
			}
		}
	}
	Sort(out)
	return out
}
