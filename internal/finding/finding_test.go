package finding

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSeverityRoundTrip(t *testing.T) {
	for _, s := range Severities() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got Severity
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("%s: round trip gave %v, %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("HIGH"); err != nil {
		t.Errorf("ParseSeverity is case-sensitive: %v", err)
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity accepted an unknown name")
	}
}

func TestScores(t *testing.T) {
	got := Scores([]RuleTally{
		{RuleID: "A", Controls: []string{"CIS:5.2.2", "PSS:privileged"}, Evaluated: 10, Failed: 2},
		{RuleID: "B", Controls: []string{"CIS:5.2.10"}, Evaluated: 4, Failed: 4},
		{RuleID: "C", Controls: []string{"CIS:5.2.2"}, Evaluated: 10, Failed: 0},
		{RuleID: "D", Controls: []string{"NSA:rbac"}, Evaluated: 0},
	})
	if len(got) != 2 {
		t.Fatalf("got %d frameworks, want CIS and PSS (NSA had no checks): %+v", len(got), got)
	}
	cis := got[0]
	// CIS:5.2.2: 20 checks, 2 failed → 90; CIS:5.2.10: 0; mean 45.
	if cis.Framework != "CIS" || cis.Score != 45 {
		t.Errorf("CIS = %+v, want score 45", cis)
	}
	if cis.Controls[0].ID != "CIS:5.2.2" || cis.Controls[1].ID != "CIS:5.2.10" {
		t.Errorf("controls not in natural order: %+v", cis.Controls)
	}
	if got[1].Framework != "PSS" || got[1].Score != 80 {
		t.Errorf("PSS = %+v, want 80", got[1])
	}
}

func TestExceptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ex.yaml")
	content := `exceptions:
  - rule: KOR-POD-*
    namespace: kube-system
    name: "cilium*"
    reason: CNI needs it
  - rule: KOR-WL-001
    kind: deployment
    reason: sized elsewhere
    expires: 2026-01-31
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := LoadExceptions(file)
	if err != nil {
		t.Fatal(err)
	}
	x := Exceptions{List: list, UseAnnotations: true, Now: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	findings := []Finding{
		{RuleID: "KOR-POD-001", Resource: Resource{Kind: "DaemonSet", Namespace: "kube-system", Name: "cilium-agent"}},
		{RuleID: "KOR-POD-001", Resource: Resource{Kind: "DaemonSet", Namespace: "kube-system", Name: "other"}},
		{RuleID: "KOR-WL-001", Resource: Resource{Kind: "Deployment", Namespace: "shop", Name: "web"}},
		{RuleID: "KOR-WL-002", Resource: Resource{Kind: "Deployment", Namespace: "shop", Name: "annotated"}},
	}
	annotated := func(r Resource) *Annotated {
		if r.Name == "annotated" {
			return &Annotated{Rules: []string{"KOR-WL-*"}, Reason: "owner says so"}
		}
		return nil
	}
	active, suppressed, expired := x.Apply(findings, annotated)
	if len(suppressed) != 2 || suppressed[0].Resource.Name != "cilium-agent" || suppressed[1].Resource.Name != "annotated" {
		t.Errorf("suppressed = %+v, want cilium-agent (file) and annotated (annotation)", suppressed)
	}
	if suppressed[0].Exception == nil || suppressed[0].Exception.Reason != "CNI needs it" {
		t.Errorf("suppressed finding does not carry its exception: %+v", suppressed[0].Exception)
	}
	if len(active) != 2 {
		t.Errorf("active = %+v, want other and web (its exception expired on 2026-01-31)", active)
	}
	if len(expired) != 1 || expired[0].Rule != "KOR-WL-001" {
		t.Errorf("expired = %+v", expired)
	}
	x.Now = time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)
	if _, _, expired := x.Apply(nil, nil); len(expired) != 0 {
		t.Error("an exception expired during its last day")
	}
	x.UseAnnotations = false
	if _, suppressed, _ := x.Apply(findings[3:], annotated); len(suppressed) != 0 {
		t.Error("annotation exception applied with annotations turned off")
	}
}

func TestLoadExceptionsErrors(t *testing.T) {
	tests := map[string]string{
		"no reason":     "exceptions:\n  - rule: KOR-POD-001\n",
		"no rule":       "exceptions:\n  - reason: x\n",
		"bad date":      "exceptions:\n  - rule: A-B-1\n    reason: x\n    expires: next week\n",
		"unknown field": "exceptions:\n  - rule: A-B-1\n    reason: x\n    nmae: typo\n",
		"bad pattern":   "exceptions:\n  - rule: \"A-[\"\n    reason: x\n",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ex.yaml")
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadExceptions(file)
			if err == nil || !strings.Contains(err.Error(), file) {
				t.Errorf("err = %v, want an error naming %s", err, file)
			}
		})
	}
}

func TestParseAnnotations(t *testing.T) {
	a, ok, err := ParseAnnotations(map[string]string{AnnotationRules: "KOR-A-1, KOR-B-2,", AnnotationReason: "why"})
	if err != nil || !ok || len(a.Rules) != 2 || a.Reason != "why" {
		t.Errorf("got %+v %v %v", a, ok, err)
	}
	if _, ok, err := ParseAnnotations(map[string]string{AnnotationRules: "KOR-A-1"}); ok || err == nil {
		t.Error("a rule list without a reason was accepted")
	}
	if _, ok, err := ParseAnnotations(nil); ok || err != nil {
		t.Error("no annotations gave an exception or an error")
	}
}
