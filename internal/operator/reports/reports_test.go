package reports

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// findings makes n findings over namespaces, with long messages.
func findings(n int, namespaces []string, msgLen int) []finding.Finding {
	out := make([]finding.Finding, n)
	for i := range out {
		out[i] = finding.Finding{RuleID: fmt.Sprintf("KOR-POD-%03d", i%40), Title: "A check", Severity: finding.Severity(i % 5),
			Controls: []string{"CIS:5.2.1", "PSS:baseline"},
			Resource: finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: namespaces[i%len(namespaces)], Name: fmt.Sprintf("app-%05d", i)},
			Message:  strings.Repeat("m", msgLen)}
	}
	return out
}

func TestBuildBoundsAndOrder(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fs := findings(5000, []string{"", "a", "b"}, 3000)
	l := Layout{MaxResults: 100, MaxBytes: 64 << 10, MaxReports: 10}
	got := Build("posture", fs, now, l)
	perNS := map[string]int{}
	results := 0
	for _, d := range got {
		b, _ := json.Marshal(d.Results)
		if len(d.Results) > l.MaxResults || len(b)+baseSize > l.MaxBytes {
			t.Errorf("%s/%s: %d results, %d bytes: over the bounds", d.Namespace, d.Name, len(d.Results), len(b))
		}
		for _, r := range d.Results {
			if len(r.Description) > maxMessage+len("…") {
				t.Errorf("message of %d bytes not truncated", len(r.Description))
			}
		}
		perNS[d.Namespace]++
		results += len(d.Results)
	}
	for ns, n := range perNS {
		if n > l.MaxReports {
			t.Errorf("namespace %q has %d reports, over %d", ns, n, l.MaxReports)
		}
	}
	dropped := 0
	for _, d := range got {
		dropped += d.Dropped
	}
	if results+dropped != len(fs) || dropped == 0 {
		t.Errorf("%d results + %d dropped, want %d with some dropped", results, dropped, len(fs))
	}
	// The most severe results are kept: the first report starts with a critical one.
	if got[0].Results[0].Severity != "critical" {
		t.Errorf("first result severity %s, want critical", got[0].Results[0].Severity)
	}
	// The same findings in another order build the same reports.
	shuffled := slices.Clone(fs)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again := Build("posture", shuffled, now.Add(time.Hour), l)
	if len(again) != len(got) {
		t.Fatalf("%d reports, then %d", len(got), len(again))
	}
	for i := range got {
		if got[i].Name != again[i].Name || got[i].Hash != again[i].Hash {
			t.Errorf("report %d: %s %s, then %s %s (the hash must not depend on order or time)", i, got[i].Name, got[i].Hash, again[i].Name, again[i].Hash)
		}
	}
	if got[0].Name != "kordon-posture" || got[1].Name != "kordon-posture-2" {
		t.Errorf("names %s, %s", got[0].Name, got[1].Name)
	}
}

// TestSyncLargeNamespace writes 20,000 findings of one namespace to a
// real API server (which rejects objects over etcd's request limit), then
// syncs again unchanged, then with fewer findings.
func TestSyncLargeNamespace(t *testing.T) {
	env := testenv.Start(t)
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{"../testdata/crd"}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	s := client.Options{}
	c, err := newClient(env, s)
	if err != nil {
		t.Fatal(err)
	}
	ns := env.CreateNamespace(t, "reports")
	ctx := t.Context()
	w := &Writer{Client: c, Scope: "posture"}
	fs := findings(20000, []string{ns}, 200)
	fs = append(fs, findings(3, []string{""}, 10)...)
	st, err := w.Sync(ctx, Build("posture", fs, time.Now(), Layout{}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != DefaultMaxReports+1 || st.Updated+st.Deleted != 0 {
		t.Errorf("first sync %+v, want %d created", st, DefaultMaxReports+1)
	}
	var list reportsv1alpha1.ReportList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range list.Items {
		b, _ := json.Marshal(r)
		if len(b) > DefaultMaxBytes {
			t.Errorf("%s: %d bytes stored, over %d", r.Name, len(b), DefaultMaxBytes)
		}
		total += len(r.Results)
		if r.Name == "kordon-posture" && r.Annotations[AnnotationDropped] == "" {
			t.Errorf("first report does not say how many results were dropped")
		}
	}
	if total != DefaultMaxReports*DefaultMaxResults {
		t.Errorf("%d results stored, want %d", total, DefaultMaxReports*DefaultMaxResults)
	}
	st, err = w.Sync(ctx, Build("posture", fs, time.Now().Add(time.Minute), Layout{}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Unchanged != DefaultMaxReports+1 || st.Created+st.Updated+st.Deleted != 0 {
		t.Errorf("unchanged sync %+v wrote something", st)
	}
	st, err = w.Sync(ctx, Build("posture", fs[:250], time.Now(), Layout{}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Deleted != DefaultMaxReports-2+1 || st.Updated != 2 {
		t.Errorf("shrinking sync %+v, want 2 updated and %d deleted", st, DefaultMaxReports-1)
	}
}

// BenchmarkBuild10k lays out 10,000 findings over 50 namespaces.
func BenchmarkBuild10k(b *testing.B) {
	ns := make([]string, 50)
	for i := range ns {
		ns[i] = fmt.Sprintf("team-%02d", i)
	}
	fs := findings(10000, ns, 120)
	now := time.Now()
	var n int
	for b.Loop() {
		n = len(Build("posture", fs, now, Layout{}))
	}
	b.ReportMetric(float64(n), "reports")
}
