package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the kordon command line in-process and returns stdout,
// stderr and the exit code main would return.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	errOut.WriteString(errorMessage(err))
	return out.String(), errOut.String(), exitCode(err)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type jsonReport struct {
	Findings []struct {
		RuleID   string   `json:"ruleID"`
		Controls []string `json:"controls"`
		Severity string   `json:"severity"`
		Resource struct {
			APIVersion, Kind, Namespace, Name string
		} `json:"resource"`
		Location *struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"location"`
		Message     string `json:"message"`
		Remediation string `json:"remediation"`
	} `json:"findings"`
	Suppressed []struct {
		RuleID string `json:"ruleID"`
	} `json:"suppressed"`
	ExpiredExceptions []struct {
		Rule string `json:"rule"`
	} `json:"expiredExceptions"`
	Errors []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
	Warnings []struct {
		Message string `json:"message"`
	} `json:"warnings"`
	Scores []struct {
		Framework string  `json:"framework"`
		Score     float64 `json:"score"`
	} `json:"scores"`
}

func decodeReport(t *testing.T, out string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return r
}

func (r jsonReport) has(rule, kind, name string) bool {
	for _, f := range r.Findings {
		if f.RuleID == rule && f.Resource.Kind == kind && f.Resource.Name == name {
			return true
		}
	}
	return false
}

const privilegedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext: {privileged: true}
`

func TestScanFindsAndLocates(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "app.yaml", "# comment\n"+privilegedDeployment)
	out, errOut, code := run(t, "", "scan", file, "-o", "json", "--rule", "KOR-POD-001")
	if code != exitFindings {
		t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitFindings, errOut)
	}
	r := decodeReport(t, out)
	if len(r.Findings) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(r.Findings), r.Findings)
	}
	f := r.Findings[0]
	if f.RuleID != "KOR-POD-001" || f.Resource.Kind != "Deployment" || f.Resource.Name != "web" || f.Resource.Namespace != "shop" || f.Resource.APIVersion != "apps/v1" {
		t.Errorf("finding = %+v, want KOR-POD-001 on the Deployment shop/web", f)
	}
	if f.Location == nil || f.Location.File != file || f.Location.Line != 2 {
		t.Errorf("location = %+v, want %s:2", f.Location, file)
	}
	if f.Severity != "critical" || len(f.Controls) == 0 || f.Message == "" || f.Remediation == "" {
		t.Errorf("finding lacks severity, controls, message or remediation: %+v", f)
	}
	if len(r.Scores) == 0 {
		t.Error("no compliance scores")
	}
}

func TestScanMalformedDocumentKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "mixed.yaml", privilegedDeployment+"---\napiVersion: v1\nkind: Pod\nmetadata: {name: broken\n  spec: [\n---\nkind: Service\nmetadata: {name: nokind}\n")
	out, _, code := run(t, "", "scan", file, "-o", "json", "--rule", "KOR-POD-001")
	if code != exitUsage {
		t.Fatalf("exit code = %d, want %d (input error)", code, exitUsage)
	}
	r := decodeReport(t, out)
	if !r.has("KOR-POD-001", "Deployment", "web") {
		t.Errorf("the good document's finding is missing: %+v", r.Findings)
	}
	if len(r.Errors) != 2 {
		t.Fatalf("got %d errors, want 2 (bad YAML, missing apiVersion): %+v", len(r.Errors), r.Errors)
	}
	for _, e := range r.Errors {
		if e.File != file || e.Line < 17 {
			t.Errorf("error %+v: want %s with a line in the broken documents", e, file)
		}
	}
}

func TestScanStdinAndThresholds(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"default fails on findings", nil, exitFindings},
		{"fail-on none", []string{"--fail-on", "none"}, exitOK},
		{"fail-on above the worst finding", []string{"--fail-on", "critical"}, exitFindings},
		{"min-score unmet", []string{"--fail-on", "none", "--min-score", "100"}, exitFindings},
		{"min-score met", []string{"--fail-on", "none", "--min-score", "0"}, exitOK},
		{"bad fail-on", []string{"--fail-on", "severe"}, exitUsage},
		{"bad format", []string{"-o", "xml"}, exitUsage},
		{"unknown rule", []string{"--rule", "KOR-NOPE-999"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"scan", "-", "-o", "json", "--rule", "KOR-POD-001"}, tt.args...)
			_, errOut, code := run(t, privilegedDeployment, args...)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.want, errOut)
			}
		})
	}
}

func TestScanPassingInputExitsZero(t *testing.T) {
	clean := strings.Replace(privilegedDeployment, "privileged: true", "privileged: false", 1)
	_, errOut, code := run(t, clean, "scan", "-", "--rule", "KOR-POD-001")
	if code != exitOK {
		t.Errorf("exit code = %d, want 0; stderr: %s", code, errOut)
	}
}

func TestScanNeedsInput(t *testing.T) {
	_, errOut, code := run(t, "", "scan")
	if code != exitUsage || !strings.Contains(errOut, "nothing to scan") {
		t.Errorf("exit code = %d, stderr %q: want 2 and a hint", code, errOut)
	}
	_, _, code = run(t, "", "scan", "/does/not/exist")
	if code != exitUsage {
		t.Errorf("missing path: exit code = %d, want 2", code)
	}
}

func TestScanExceptions(t *testing.T) {
	dir := t.TempDir()
	active := writeFile(t, dir, "active.yaml", "exceptions:\n  - rule: KOR-POD-*\n    namespace: shop\n    name: web\n    reason: accepted risk\n")
	expired := writeFile(t, dir, "expired.yaml", "exceptions:\n  - rule: KOR-POD-001\n    reason: was fine once\n    expires: 2020-01-31\n")
	bad := writeFile(t, dir, "bad.yaml", "exceptions:\n  - rule: KOR-POD-001\n")

	out, _, code := run(t, privilegedDeployment, "scan", "-", "-o", "json", "--rule", "KOR-POD-001", "--exceptions", active)
	r := decodeReport(t, out)
	if code != exitOK || len(r.Findings) != 0 || len(r.Suppressed) != 1 {
		t.Errorf("active exception: code %d, %d findings, %d suppressed; want 0, 0, 1", code, len(r.Findings), len(r.Suppressed))
	}

	out, _, code = run(t, privilegedDeployment, "scan", "-", "-o", "json", "--rule", "KOR-POD-001", "--exceptions", expired)
	r = decodeReport(t, out)
	if code != exitFindings || len(r.Findings) != 1 || len(r.ExpiredExceptions) != 1 {
		t.Errorf("expired exception: code %d, %d findings, %d expired; want 1, 1, 1", code, len(r.Findings), len(r.ExpiredExceptions))
	}

	_, errOut, code := run(t, privilegedDeployment, "scan", "-", "--exceptions", bad)
	if code != exitUsage || !strings.Contains(errOut, "reason is required") {
		t.Errorf("bad exceptions file: code %d, stderr %q; want 2 and the missing field", code, errOut)
	}
}

func TestScanAnnotationExceptions(t *testing.T) {
	annotated := strings.Replace(privilegedDeployment, "  namespace: shop\n",
		"  namespace: shop\n  annotations:\n    exceptions.kordon.io/rules: KOR-POD-001\n    exceptions.kordon.io/reason: node agent\n", 1)
	out, _, code := run(t, annotated, "scan", "-", "-o", "json", "--rule", "KOR-POD-001")
	r := decodeReport(t, out)
	if code != exitOK || len(r.Suppressed) != 1 {
		t.Errorf("annotation exception: code %d, %d suppressed; want 0, 1", code, len(r.Suppressed))
	}
	out, _, code = run(t, annotated, "scan", "-", "-o", "json", "--rule", "KOR-POD-001", "--no-annotation-exceptions")
	r = decodeReport(t, out)
	if code != exitFindings || len(r.Findings) != 1 || len(r.Warnings) == 0 {
		t.Errorf("annotations off: code %d, %d findings, %d warnings; want 1, 1, >0", code, len(r.Findings), len(r.Warnings))
	}
}

const customRule = `id: ACME-SVC-001
title: Service without an owner label
severity: low
controls: [ACME:ownership]
match:
  resources:
    - apiGroups: [""]
      kinds: [Service]
validations:
  - expression: has(object.metadata.labels) && 'owner' in object.metadata.labels
    messageExpression: "'service ' + object.metadata.name + ' has no owner label'"
remediation: Add an owner label.
`

func TestRulesTestCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", customRule)
	writeFile(t, dir, "fixtures/ACME-SVC-001/pass.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: {owner: me}}\n")
	writeFile(t, dir, "fixtures/ACME-SVC-001/fail.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
	out, errOut, code := run(t, "", "rules", "test", dir)
	if code != exitOK || !strings.Contains(out, "2 passed, 0 failed") {
		t.Fatalf("rules test: code %d, out %q, stderr %q", code, out, errOut)
	}
	// A fail fixture that does not fail must be caught.
	writeFile(t, dir, "fixtures/ACME-SVC-001/fail-wrong.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: {owner: me}}\n")
	out, _, code = run(t, "", "rules", "test", dir)
	if code != exitFindings || !strings.Contains(out, "FAIL ACME-SVC-001") {
		t.Errorf("rules test with a wrong fixture: code %d, out %q; want 1 and a FAIL line", code, out)
	}
}

func TestCustomRulesInScan(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", customRule)
	out, _, code := run(t, "apiVersion: v1\nkind: Service\nmetadata: {name: orphan}\n", "scan", "-", "--rules", dir, "--no-builtin", "-o", "json")
	r := decodeReport(t, out)
	if code != exitFindings || !r.has("ACME-SVC-001", "Service", "orphan") {
		t.Errorf("custom rule: code %d, findings %+v", code, r.Findings)
	}
	bad := t.TempDir()
	writeFile(t, bad, "rules.yaml", strings.Replace(customRule, "'owner' in object.metadata.labels", "object.metadata.labels.nosuchfunc()", 1))
	_, errOut, code := run(t, "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", "scan", "-", "--rules", bad, "--no-builtin")
	if code != exitUsage || !strings.Contains(errOut, "ACME-SVC-001") {
		t.Errorf("rule that does not compile: code %d, stderr %q; want 2 naming the rule", code, errOut)
	}
}

func TestRulesListAndShow(t *testing.T) {
	out, _, code := run(t, "", "rules", "list", "--framework", "PSS")
	if code != exitOK || !strings.Contains(out, "KOR-POD-001") {
		t.Errorf("rules list: code %d, out %q", code, out)
	}
	out, _, code = run(t, "", "rules", "show", "kor-pod-001")
	if code != exitOK || !strings.Contains(out, "PSS:privileged") || !strings.Contains(out, "Remediation") {
		t.Errorf("rules show: code %d, out %q", code, out)
	}
	_, _, code = run(t, "", "rules", "show", "KOR-NOPE-1")
	if code != exitUsage {
		t.Errorf("rules show unknown: code %d, want 2", code)
	}
}

func TestVersionFlag(t *testing.T) {
	out, _, code := run(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "kordon ") || !strings.Contains(out, "commit ") {
		t.Errorf("kordon --version: exit %d, %q", code, out)
	}
	out2, _, _ := run(t, "", "version")
	if out2 != out {
		t.Errorf("kordon version %q differs from --version %q", out2, out)
	}
}

func TestCompletion(t *testing.T) {
	out, _, code := run(t, "", "__complete", "scan", "--rule", "KOR-POD-001,KOR-GOV-00")
	if code != 0 || !strings.Contains(out, "KOR-POD-001,KOR-GOV-001\tWorkload not isolated by a NetworkPolicy") {
		t.Errorf("rule ID completion: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "", "__complete", "netpol", "lint", "-o", "")
	if !strings.Contains(out, "sarif") || !strings.Contains(out, "policyreport") {
		t.Errorf("format completion:\n%s", out)
	}
}
