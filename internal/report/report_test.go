package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the time every golden file is rendered at.
var fixedNow = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// richReport exercises every part of every format: all severities,
// namespaced and cluster-scoped resources, findings with and without a file
// line and without any location, several findings on one resource, a
// suppressed finding, an expired exception, errors, warnings and scores.
func richReport() *finding.Report {
	deploy := finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "payments", Name: "api"}
	deployUnit := &finding.Unit{Kind: "path", Path: "deploy/", Namespace: "default"}
	r := &finding.Report{
		Tool: finding.Tool{Name: "kordon", Version: "v0.4.0"},
		Findings: []finding.Finding{
			{
				RuleID: "KOR-POD-001", Title: "Privileged container", Severity: finding.Critical,
				Controls: []string{"CIS:5.2.1", "NSA:pod-security", "PSS:baseline"},
				Resource: deploy, Location: &finding.Location{File: "deploy/api.yaml", Line: 14}, Unit: deployUnit,
				Message:     `Container "api" runs privileged: it has every capability of the host's root user.`,
				Remediation: "Remove securityContext.privileged or set it to false.",
			},
			{
				RuleID: "KOR-POD-010", Title: "Container may run as root", Severity: finding.Medium,
				Controls: []string{"CIS:5.2.6", "NSA:pod-security", "PSS:restricted"},
				Resource: deploy, Location: &finding.Location{File: "deploy/api.yaml", Line: 14}, Unit: deployUnit,
				Message:     `Container "api" does not set runAsNonRoot: true.`,
				Remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser.",
			},
			{
				RuleID: "KOR-POD-010", Title: "Container may run as root", Severity: finding.Medium,
				Controls: []string{"CIS:5.2.6", "NSA:pod-security", "PSS:restricted"},
				Resource: deploy, Location: &finding.Location{File: "deploy/api.yaml", Line: 14}, Unit: deployUnit,
				Message:     `Container "migrate" does not set runAsNonRoot: true.`,
				Remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser.",
			},
			{
				RuleID: "KOR-RBAC-002", Title: "Wildcard permissions in a ClusterRole", Severity: finding.High,
				Controls: []string{"CIS:5.1.3", "NIST-800-190:4.1.1"},
				Resource: finding.Resource{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "ops-admin"},
				Location: &finding.Location{File: "rbac/cluster roles.yaml", Line: 1},
				Unit:     &finding.Unit{Kind: "path", Path: "rbac/", Namespace: "default"},
				Message:  `Rule 1 grants "*" verbs on "*" resources.`, Remediation: "List the verbs and resources the role needs.",
			},
			{
				RuleID: "KOR-NET-001", Title: "Namespace without a default-deny NetworkPolicy", Severity: finding.Low,
				Controls:    []string{"NSA:network-separation"},
				Resource:    finding.Resource{APIVersion: "v1", Kind: "Namespace", Name: "payments"},
				Message:     "No NetworkPolicy selects every pod in namespace payments with ingress and egress deny.",
				Remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress].",
			},
			{
				RuleID: "KOR-IMG-003", Title: "Image tag is not pinned", Severity: finding.Info,
				Controls: nil,
				Resource: finding.Resource{APIVersion: "batch/v1", Kind: "CronJob", Namespace: "tools", Name: "backup<nightly>"},
				Location: &finding.Location{File: "charts/tools/templates/cronjob.yaml", NamespaceFrom: "--release-namespace"},
				Unit:     &finding.Unit{Kind: "chart", Path: "charts/tools", Namespace: "tools"},
				Message:  `Image "busybox:latest" uses a mutable tag & no digest.`,
			},
		},
		Suppressed: []finding.Finding{{
			RuleID: "KOR-POD-002", Title: "Host network", Severity: finding.High,
			Controls:    []string{"CIS:5.2.4", "PSS:baseline"},
			Resource:    finding.Resource{APIVersion: "apps/v1", Kind: "DaemonSet", Namespace: "kube-system", Name: "cilium"},
			Location:    &finding.Location{File: "deploy/cilium.yaml", Line: 3},
			Message:     `Pod uses the host's network namespace (hostNetwork: true).`,
			Remediation: "Remove hostNetwork.",
			Exception:   &finding.Applied{Source: "exceptions.yaml", Reason: "The CNI needs the host network.", Expires: "2027-06-30"},
		}},
		ExpiredExceptions: []finding.Exception{{
			Rule: "KOR-POD-001", Kind: "Deployment", Namespace: "legacy", Name: "billing-*",
			Reason: "Waiting for the vendor's rootless image.", Expires: "2026-01-31", Source: "exceptions.yaml",
		}},
		Scores: []finding.FrameworkScore{
			{Framework: "CIS", Score: 71.4, Controls: []finding.ControlScore{
				{ID: "CIS:5.1.3", Evaluated: 4, Failed: 1, Score: 75},
				{ID: "CIS:5.2.1", Evaluated: 6, Failed: 1, Score: 83.3},
				{ID: "CIS:5.2.6", Evaluated: 6, Failed: 3, Score: 50},
			}},
			{Framework: "NIST-800-190", Score: 75, Controls: []finding.ControlScore{{ID: "NIST-800-190:4.1.1", Evaluated: 4, Failed: 1, Score: 75}}},
			{Framework: "NSA", Score: 41.7, Controls: []finding.ControlScore{
				{ID: "NSA:network-separation", Evaluated: 3, Failed: 2, Score: 33.3},
				{ID: "NSA:pod-security", Evaluated: 6, Failed: 3, Score: 50},
			}},
			{Framework: "PSS", Score: 91.7, Controls: []finding.ControlScore{
				{ID: "PSS:baseline", Evaluated: 6, Failed: 0, Score: 100},
				{ID: "PSS:restricted", Evaluated: 6, Failed: 1, Score: 83.3},
			}},
		},
		Errors: []finding.Problem{
			{File: "charts/broken/values.yaml", Line: 7, Message: "yaml: line 7: mapping values are not allowed in this context"},
			{RuleID: "KOR-POD-020", Resource: &finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "tools", Name: "debug"},
				Message: "evaluate rule: no such key: securityContext"},
		},
		Warnings: []finding.Problem{
			{File: "docs/example.yaml", Line: 1, Message: "skipped a YAML document that is not a Kubernetes object (no kind)"},
		},
	}
	r.Summarize(14, 52)
	return r
}

func TestGolden(t *testing.T) {
	opts := Options{Now: fixedNow, Target: "deploy/ rbac/ charts/tools", Config: ".kordon.yaml", BaseDir: ".",
		Rules: map[string]RuleDoc{"KOR-POD-001": {
			Description: "A privileged container can do almost anything the host's root user can, including loading kernel modules.",
			HelpURI:     "https://kordon.dev/rules/KOR-POD-001",
		}}}
	cases := []struct {
		name   string
		report *finding.Report
		opts   Options
	}{
		{"rich", richReport(), opts},
		{"empty", &finding.Report{Tool: finding.Tool{Name: "kordon", Version: "v0.4.0"}}, Options{Now: fixedNow}},
	}
	for _, c := range cases {
		for _, format := range Formats() {
			t.Run(c.name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, c.report, c.opts); err != nil {
					t.Fatalf("Write(%s): %v", format, err)
				}
				checkGolden(t, filepath.Join("testdata", c.name+"."+format+".golden"), buf.Bytes())
			})
		}
	}
	t.Run("rich.table-color", func(t *testing.T) {
		o := opts
		o.Color = true
		var buf bytes.Buffer
		if err := Write(&buf, "table", richReport(), o); err != nil {
			t.Fatalf("Write(table): %v", err)
		}
		checkGolden(t, filepath.Join("testdata", "rich.table-color.golden"), buf.Bytes())
	})
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./internal/report -update to accept):\n%s", file, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}

func TestWriteUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "yaml", richReport(), Options{Now: fixedNow})
	if err == nil {
		t.Fatal("Write(yaml) succeeded, want an error")
	}
	for _, f := range Formats() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list format %q", err, f)
		}
	}
}

func TestWriteDoesNotModifyReport(t *testing.T) {
	r := richReport()
	r.Findings[0], r.Findings[5] = r.Findings[5], r.Findings[0]
	before := r.Findings[0].RuleID
	for _, f := range Formats() {
		if err := Write(&bytes.Buffer{}, f, r, Options{Now: fixedNow}); err != nil {
			t.Fatalf("Write(%s): %v", f, err)
		}
	}
	if got := r.Findings[0].RuleID; got != before {
		t.Errorf("after Write, Findings[0].RuleID = %s, want %s (input was reordered)", got, before)
	}
	if r.Findings[0].Controls != nil {
		t.Errorf("after Write, nil Controls became %#v", r.Findings[0].Controls)
	}
}

func TestFormats(t *testing.T) {
	want := []string{"table", "json", "sarif", "junit", "html", "policyreport"}
	got := Formats()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Formats() = %v, want %v", got, want)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
