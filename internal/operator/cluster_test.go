package operator_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// env returns the shared control plane with the openreports.io CRDs.
func env(t *testing.T) (*testenv.Env, client.Client) {
	t.Helper()
	e := cluster.Env(t)
	if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{Paths: []string{"testdata/crd"}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	scheme, err := operator.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

func checks(t *testing.T) (*rules.Catalogue, operator.Posture) {
	t.Helper()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := operator.ScanChecks(cat, cat.Rules())
	if err != nil {
		t.Fatal(err)
	}
	return cat, operator.Posture{Checks: ch}
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kordon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func privilegedPod(ns, name string) *corev1.Pod {
	yes := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
			SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last state: %s", what, last)
}

// reportSubjects returns the names of the subjects of the namespace's
// posture reports, with rule IDs.
func reportSubjects(ctx context.Context, c client.Client, ns string) (map[string][]string, int, error) {
	var list reportsv1alpha1.ReportList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{reports.LabelScope: "posture"}); err != nil {
		return nil, 0, err
	}
	out := map[string][]string{}
	for _, r := range list.Items {
		for _, res := range r.Results {
			for _, s := range res.Subjects {
				out[s.Name] = append(out[s.Name], res.Policy)
			}
		}
	}
	return out, len(list.Items), nil
}

// TestPostureLoopFollowsChanges runs the operator against a real API
// server: a privileged pod created after start is reported (a watch event
// triggers the debounced scan), its deletion removes it from the report,
// findings reach the embedded store, and a cycle that finds nothing new
// writes nothing.
func TestPostureLoopFollowsChanges(t *testing.T) {
	e, c := env(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, p := checks(t)
	st := openStore(t)
	p.RESTConfig = e.Config
	p.Sink = sink.Store{Store: st}
	p.Reports = &reports.Writer{Scope: "posture"}
	m, err := operator.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- operator.Run(ctx, operator.Config{RESTConfig: e.Config, Posture: &p, Debounce: 300 * time.Millisecond, Metrics: m})
	}()
	ns := e.CreateNamespace(t, "posture")
	if _, err := e.Client.CoreV1().Pods(ns).Create(ctx, privilegedPod(ns, "root-shell"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "privileged pod reported", func() (bool, string) {
		subj, _, err := reportSubjects(ctx, c, ns)
		if err != nil {
			return false, err.Error()
		}
		return slices.Contains(subj["root-shell"], "KOR-POD-001"), fmt.Sprint(subj)
	})
	_, n, _ := reportSubjects(ctx, c, ns)
	if n != 1 {
		t.Errorf("got %d posture reports in %s, want 1", n, ns)
	}
	if err := e.Client.CoreV1().Pods(ns).Delete(ctx, "root-shell", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted pod leaves the report", func() (bool, string) {
		subj, n, err := reportSubjects(ctx, c, ns)
		if err != nil {
			return false, err.Error()
		}
		return n == 0 && len(subj) == 0, fmt.Sprintf("%d reports: %v", n, subj)
	})
	groups, err := st.Count(ctx, store.Filter{Types: []store.Type{store.TypeFinding}, Namespaces: []string{ns}, Names: []string{"root-shell"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) == 0 || groups[0].Count == 0 {
		t.Errorf("no finding of the pod reached the store: %v", groups)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Two cycles on an unchanged cluster: the second writes nothing.
	p.Reports.Client = c
	if _, err := p.Cycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := p.Cycle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Reports.Created+res.Reports.Updated+res.Reports.Deleted != 0 || res.Reports.Unchanged == 0 {
		t.Errorf("second cycle on an unchanged cluster wrote reports: %+v", res.Reports)
	}
}
