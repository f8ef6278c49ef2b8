package operator_test

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/drift"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/testenv"
	"github.com/kordon-dev/kordon/internal/testgen"
)

// benchCluster starts a control plane holding n generated objects
// (testgen.Realistic; generated objects the API server's validation
// refuses are skipped until n are created). It is skipped unless KORDON_OPERATOR_BENCH is set
// (make bench-operator): loading 10,000 objects takes a minute.
func benchCluster(b *testing.B, n int) (*testenv.Env, client.Client, []*k8s.Object) {
	b.Helper()
	if os.Getenv("KORDON_OPERATOR_BENCH") == "" {
		b.Skip("set KORDON_OPERATOR_BENCH=1 (make bench-operator) to run against a loaded API server")
	}
	e := testenv.Start(b)
	if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{Paths: []string{"testdata/crd"}, ErrorIfPathMissing: true}); err != nil {
		b.Fatal(err)
	}
	// Generated objects are made to exercise the rules; the few the API
	// server's validation refuses (probes on init containers) are left out.
	var objs []*k8s.Object
	refused := 0
	for _, o := range testgen.Objects(n*3/2, 1) {
		if len(objs) == n {
			break
		}
		if _, err := e.Create(b.Context(), o); err != nil {
			refused++
			continue
		}
		objs = append(objs, o)
	}
	b.Logf("created %d objects, %d refused by validation", len(objs), refused)
	scheme, err := operator.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(e.Config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	return e, c, objs
}

// BenchmarkPostureCycle10k is one posture cycle over a cluster of 10,000
// objects: list them all, judge them with every scan rule, append the
// findings to an embedded store and sync the reports (the first cycle
// writes them; later ones find them unchanged).
func BenchmarkPostureCycle10k(b *testing.B) {
	e, c, _ := benchCluster(b, 10000)
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		b.Fatal(err)
	}
	checks, err := operator.ScanChecks(cat, cat.Rules())
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &operator.Posture{RESTConfig: e.Config, Checks: checks, Sink: sink.Store{Store: st}, Reports: &reports.Writer{Client: c, Scope: "posture"}}
	var res operator.CycleResult
	b.ResetTimer()
	for b.Loop() {
		if res, err = p.Cycle(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Objects), "objects")
	b.ReportMetric(float64(len(res.Findings)), "findings")
	b.ReportMetric(float64(res.Reports.Unchanged+res.Reports.Created+res.Reports.Updated), "reports")
	b.ReportMetric(res.Phases.Load.Seconds(), "load-s")
	b.ReportMetric(res.Phases.Judge.Seconds(), "judge-s")
	b.ReportMetric(res.Phases.Store.Seconds(), "store-s")
	b.ReportMetric(res.Phases.Reports.Seconds(), "reports-s")
}

// BenchmarkDrift1k compares a baseline of 1,000 objects with the live
// ones (a GET and a server-side dry-run apply each).
func BenchmarkDrift1k(b *testing.B) {
	e, _, objs := benchCluster(b, 1000)
	d := &drift.Detector{Dynamic: e.Dynamic, Mapper: e.Mapper}
	var res drift.Result
	var err error
	b.ResetTimer()
	for b.Loop() {
		if res, err = d.Compare(b.Context(), objs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.InSync), "in-sync")
	b.ReportMetric(float64(len(res.Drifted)), "drifted")
	b.ReportMetric(float64(len(res.Errors)), "errors")
}
