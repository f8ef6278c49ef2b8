package alert

import (
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestPolicyReport writes alerts as OpenReports results to a real API
// server with the openreports.io CRDs installed.
func TestPolicyReport(t *testing.T) {
	env := testenv.Start(t)
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{"testdata/crd"}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	ns := env.CreateNamespace(t, "alerts")
	p, err := NewPolicyReport(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	p.MaxResults = 2
	ctx := t.Context()
	mk := func(rule, name string, sev finding.Severity, count int) Alert {
		a := sample()
		a.Rule, a.Severity, a.Count = rule, sev, count
		a.Event.Resource = finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name}
		return a
	}
	// The second alert of one rule and resource replaces the first; a
	// third result pushes the oldest out (MaxResults 2).
	for _, a := range []Alert{mk("denials", "web", finding.High, 3), mk("denials", "web", finding.High, 5), mk("intel", "api", finding.Critical, 1), mk("scans", "db", finding.Low, 1)} {
		if err := p.Notify(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var rep reportsv1alpha1.Report
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ReportName}, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Policy != "intel" || rep.Results[1].Policy != "scans" {
		t.Fatalf("results %+v", rep.Results)
	}
	if rep.Summary.Fail != 1 || rep.Summary.Warn != 1 || rep.Results[0].Severity != "critical" || rep.Results[0].Subjects[0].Name != "api" ||
		rep.Results[0].Timestamp.Seconds != t0.Add(time.Minute).Unix() {
		t.Errorf("report %+v", rep)
	}
	p.MaxResults = 10
	if err := p.Notify(ctx, mk("denials", "web", finding.High, 7)); err != nil {
		t.Fatal(err)
	}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ReportName}, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || rep.Results[2].Properties["count"] != "7" {
		t.Errorf("after another alert: %+v", rep.Results)
	}
	// A cluster-scoped resource's alert goes to the ClusterReport.
	cl := mk("rbac", "admin", finding.Medium, 1)
	cl.Event.Resource = finding.Resource{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding", Name: "admin"}
	if err := p.Notify(ctx, cl); err != nil {
		t.Fatal(err)
	}
	var crep reportsv1alpha1.ClusterReport
	if err := p.Client.Get(ctx, client.ObjectKey{Name: ReportName}, &crep); err != nil {
		t.Fatal(err)
	}
	if len(crep.Results) != 1 || crep.Results[0].Subjects[0].Kind != "ClusterRoleBinding" || crep.Summary.Fail != 1 {
		t.Errorf("cluster report %+v", crep)
	}
}
