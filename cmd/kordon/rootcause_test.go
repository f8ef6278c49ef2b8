package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// latestWeb fails the three rules of the root cause image-not-pinned, and
// KOR-IMG-005, which is no symptom of it.
const latestWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:latest
          imagePullPolicy: IfNotPresent
`

// TestScanGroupsByCause checks, end to end, that reportflags passes the
// catalogue's causes to the report: the table groups the image findings
// under their cause, and JSON keeps one entry per finding.
func TestScanGroupsByCause(t *testing.T) {
	rules := "KOR-IMG-001,KOR-IMG-002,KOR-IMG-004,KOR-IMG-005"
	out, errOut, code := run(t, latestWeb, "scan", "-", "--rule", rules, "--color", "never")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	for _, want := range []string{
		"┌ Root cause: Image not pinned by digest",
		"├ KOR-IMG-001",
		"├ KOR-IMG-002",
		"└ KOR-IMG-004",
		"4 findings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "├ KOR-IMG-005") || strings.Contains(out, "└ KOR-IMG-005") {
		t.Errorf("table groups KOR-IMG-005 under the image cause:\n%s", out)
	}

	out, errOut, code = run(t, latestWeb, "scan", "-", "--rule", rules, "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 4 {
		t.Errorf("JSON has %d findings, want 4 (one per finding)", len(rep.Findings))
	}
	if strings.Contains(out, "Root cause") || strings.Contains(out, "image-not-pinned") {
		t.Error("JSON mentions the root cause")
	}
}

func TestRulesShowCause(t *testing.T) {
	out, errOut, code := run(t, "", "rules", "show", "KOR-POD-013")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`root cause: container-not-hardened, "Container runs without a restricted securityContext"`,
		"Part of root cause container-not-hardened: Container runs without a restricted securityContext",
		"With KOR-POD-009, KOR-POD-014,",
		"Fix for all of them: Set spec.securityContext",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "With KOR-POD-009, KOR-POD-013") {
		t.Error("rules show lists the rule among its own cause's other rules")
	}
	// An alias shows its check's cause.
	if out, _, _ := run(t, "", "rules", "show", "KOR-NETPOL-001"); !strings.Contains(out, "root cause: namespace-without-network-policy") {
		t.Errorf("rules show KOR-NETPOL-001 lacks its cause:\n%s", out)
	}
	// A rule without a cause, and the YAML form (a rule file), say nothing
	// of causes.
	for _, args := range [][]string{{"rules", "show", "KOR-POD-001"}, {"rules", "show", "KOR-POD-013", "-o", "yaml"}} {
		out, _, _ := run(t, "", args...)
		if strings.Contains(strings.ToLower(out), "root cause") {
			t.Errorf("%v mentions a root cause:\n%s", args, out)
		}
	}
}
