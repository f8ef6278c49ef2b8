package k8s_test

import (
	"strings"
	"testing"

	"k8s.io/client-go/discovery"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// TestClusterScopedKinds compares the scope Kordon gives built-in kinds
// (used to give file objects a namespace) with the discovery of a real API
// server: every resource it serves must have the scope it reports.
func TestClusterScopedKinds(t *testing.T) {
	env := cluster.Env(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	scopes := k8s.NewScopes(nil)
	checked := 0
	for _, list := range lists {
		group := k8s.GroupOf(list.GroupVersion)
		for _, r := range list.APIResources {
			if r.Kind == "" || strings.Contains(r.Name, "/") {
				continue // subresources
			}
			want := k8s.ScopeCluster
			if r.Namespaced {
				want = k8s.ScopeNamespaced
			}
			if got := scopes.Of(group, r.Kind); got != want {
				t.Errorf("%s %s (%s): scope %v, the API server says namespaced=%v", list.GroupVersion, r.Kind, r.Name, got, r.Namespaced)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("checked %d resources, want the API server's built-in resources (50+)", checked)
	}
}
