package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const findingsData = "testdata/admission-findings"

// goldenArgs read the fixture log with the fixture rules (not the built-in
// catalogue, whose edits must not change the golden file).
var goldenArgs = []string{"admission", "findings", "--no-builtin", "--rules", findingsData + "/rules",
	"--exceptions", findingsData + "/exceptions.yaml", findingsData + "/decisions.log"}

var generatedAt = regexp.MustCompile(`"generatedAt": "[^"]*"`)

func TestAdmissionFindingsGolden(t *testing.T) {
	out, errOut, code := run(t, "", append(goldenArgs, "-o", "json")...)
	if code != exitUsage {
		t.Errorf("exit code = %d, want 2 (the log has a malformed line and an unknown check); stderr: %s", code, errOut)
	}
	validateSchema(t, filepath.Join("..", "..", "docs", "schemas", "scan-report.schema.json"), out)
	got := generatedAt.ReplaceAllString(out, `"generatedAt": "2026-03-14T10:00:00Z"`)
	golden := filepath.Join(findingsData, "findings.json.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func validateSchema(t *testing.T, schemaFile, doc string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	abs, err := filepath.Abs(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(abs)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile, err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, doc)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("output does not match %s:\n%v", schemaFile, err)
	}
}

// policyReports decodes the policyreport format.
func policyReports(t *testing.T, out string) []policyReportDoc {
	t.Helper()
	var docs []policyReportDoc
	for _, part := range strings.Split(out, "\n---\n") {
		var d policyReportDoc
		if err := yaml.UnmarshalStrict([]byte(part), &d); err != nil {
			t.Fatalf("not a PolicyReport: %v\n%s", err, part)
		}
		docs = append(docs, d)
	}
	return docs
}

type policyReportDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Summary map[string]int `json:"summary"`
	Results []struct {
		Source    string `json:"source"`
		Policy    string `json:"policy"`
		Rule      string `json:"rule"`
		Category  string `json:"category"`
		Severity  string `json:"severity"`
		Timestamp struct {
			Seconds int64 `json:"seconds"`
			Nanos   int32 `json:"nanos"`
		} `json:"timestamp"`
		Result    string `json:"result"`
		Scored    bool   `json:"scored"`
		Resources []struct {
			APIVersion, Kind, Namespace, Name string
		} `json:"resources"`
		Message    string            `json:"message"`
		Properties map[string]string `json:"properties"`
	} `json:"results"`
}

// results lists "namespace: result policy Kind/name" for every result.
func (d policyReportDoc) results() []string {
	var out []string
	for _, r := range d.Results {
		for _, res := range r.Resources {
			out = append(out, fmt.Sprintf("%s: %s %s %s/%s", d.Metadata.Namespace, r.Result, r.Policy, res.Kind, res.Name))
		}
	}
	return out
}

func TestAdmissionFindingsFormats(t *testing.T) {
	t.Run("policyreport", func(t *testing.T) {
		out, errOut, code := run(t, "", append(goldenArgs, "-o", "policyreport")...)
		if code != exitUsage {
			t.Errorf("exit code = %d, want 2; stderr: %s", code, errOut)
		}
		var got []string
		for _, d := range policyReports(t, out) {
			got = append(got, d.Kind+" "+d.Metadata.Name+": "+strings.Join(d.results(), "; "))
		}
		want := []string{
			"PolicyReport kordon-lab: lab: fail TEST-POD-001 Pod/root; lab: skip TEST-NODEPORT Service/nodeport",
			"PolicyReport kordon-shop: shop: fail TEST-POD-001 Deployment/legacy; shop: fail TEST-POD-001 Pod/root; " +
				"shop: fail TEST-POD-002 Pod/root; shop: fail TEST-SVC-001 Service/edge; shop: error TEST-IMG-009 Pod/q",
			"ClusterPolicyReport kordon-cluster: ",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("PolicyReports:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("sarif", func(t *testing.T) {
		out, _, code := run(t, "", append(goldenArgs, "-o", "sarif")...)
		if code != exitUsage {
			t.Errorf("exit code = %d, want 2", code)
		}
		validateSchema(t, filepath.Join("..", "..", "internal", "report", "testdata", "sarif-schema-2.1.0.json"), out)
		if !strings.Contains(out, `"ruleId": "TEST-SVC-001"`) || !strings.Contains(out, "seen 2 times") {
			t.Errorf("SARIF lacks the deduplicated TEST-SVC-001 result:\n%s", out)
		}
	})
	for _, format := range []string{"table", "junit", "html"} {
		t.Run(format, func(t *testing.T) {
			out, _, code := run(t, "", append(goldenArgs, "-o", format)...)
			if code != exitUsage || !strings.Contains(out, "TEST-POD-002") {
				t.Errorf("exit code %d, want 2, and output naming TEST-POD-002:\n%s", code, out)
			}
		})
	}
	t.Run("output file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "report.json")
		out, _, code := run(t, "", append(goldenArgs, "-o", "json", "--output-file", file)...)
		data, err := os.ReadFile(file)
		if err != nil || code != exitUsage || out != "" || !bytes.Contains(data, []byte(`"TEST-POD-002"`)) {
			t.Errorf("--output-file: exit %d, stdout %q, file %s (%v)", code, out, data, err)
		}
	})
}

// decisionLine writes a decision line of a privileged pod in namespace shop.
func decisionLine(at time.Time, uid, name, action string) string {
	timeField := ""
	if !at.IsZero() {
		timeField = fmt.Sprintf(`"time":%q,`, at.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf(`{%s"level":"INFO","msg":"admission decision","uid":%q,"user":"alice","operation":"CREATE","kind":"Pod","apiVersion":"v1",`+
		`"namespace":"shop","name":%q,"result":"allowed","rules":[{"id":"KOR-POD-001","action":%q,"source":"pss","severity":"critical","message":"privileged containers: \"shell\""}]}`+"\n",
		timeField, uid, name, action)
}

func TestAdmissionFindingsExitCodes(t *testing.T) {
	now := time.Now()
	log := decisionLine(now, "u1", "audited", "audit") + decisionLine(now, "u2", "warned", "warn") + "plain text\n"
	file := writeFile(t, t.TempDir(), "decisions.log", log)
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  []string // substrings of the JSON output
		wantErr  string
	}{
		{"standard input, no argument", log, nil, exitFindings, []string{`"name": "audited"`, `"name": "warned"`, `"target": "admission decisions on standard input"`}, ""},
		{"standard input as -", log, []string{"-"}, exitFindings, []string{`"name": "audited"`}, ""},
		{"a file", "", []string{file}, exitFindings, []string{`"name": "audited"`, `"ruleID": "KOR-POD-001"`, `"PSS:`}, ""},
		{"--action audit", log, []string{"--action", "audit"}, exitFindings, []string{`"name": "audited"`, `"findings": 1`}, ""},
		{"--action warn,enforce", log, []string{"--action", "warn,enforce"}, exitFindings, []string{`"name": "warned"`, `"findings": 1`}, ""},
		{"--action enforce finds nothing", log, []string{"--action", "Enforce"}, exitOK, []string{`"findings": []`}, ""},
		{"--fail-on none", log, []string{"--fail-on", "none"}, exitOK, []string{`"findings": 2`}, ""},
		{"--rule leaves others out", log, []string{"--rule", "KOR-POD-002"}, exitOK, []string{`"findings": []`}, ""},
		{"--min-severity", log, []string{"--min-severity", "critical"}, exitFindings, []string{`"findings": 2`}, ""},
		{"empty log", "", nil, exitOK, []string{`"findings": []`, `"resources": 0`}, ""},
		{"an exception", log, []string{"--exceptions", writeFile(t, t.TempDir(), "ex.yaml",
			"exceptions: [{rule: KOR-POD-001, namespace: shop, name: warned, reason: a test}]\n")}, exitFindings, []string{`"findings": 1`, `"suppressed": 1`}, ""},
		{"unknown action", log, []string{"--action", "block"}, exitUsage, nil, `--action "block": want enforce, warn or audit`},
		{"--min-score", log, []string{"--min-score", "50"}, exitUsage, nil, "no compliance scores"},
		{"negative --since", log, []string{"--since", "-1h"}, exitUsage, nil, "--since -1h0m0s: want a positive duration"},
		{"missing file", "", []string{filepath.Join(t.TempDir(), "missing.log")}, exitUsage, nil, "no such file"},
		{"bad format", log, []string{"-o", "yaml"}, exitUsage, nil, `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"admission", "findings"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "-o ") {
				args = append(args, "-o", "json")
			}
			out, errOut, code := run(t, tt.stdin, args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %s:\n%s", want, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr: got %q, want %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestAdmissionFindingsSince(t *testing.T) {
	now := time.Now()
	log := decisionLine(now.Add(-time.Hour), "u1", "recent", "audit") + decisionLine(now.Add(-48*time.Hour), "u2", "old", "audit")
	out, errOut, code := run(t, log, "admission", "findings", "--since", "24h", "-o", "json")
	if code != exitFindings || !strings.Contains(out, `"name": "recent"`) || strings.Contains(out, `"name": "old"`) {
		t.Errorf("--since 24h: exit %d (%s), want only the recent decision:\n%s", code, errOut, out)
	}
	out, _, code = run(t, log+decisionLine(time.Time{}, "u3", "timeless", "audit"), "admission", "findings", "--since", "24h", "-o", "json")
	if code != exitUsage || !strings.Contains(out, "decision line without a time: the time filter (--since) cannot apply to it") || strings.Contains(out, `"name": "timeless"`) {
		t.Errorf("--since with a line without time: exit %d, want 2 and an error naming the line:\n%s", code, out)
	}
}
