package rules

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinCauses(t *testing.T) {
	cat, err := BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	causes := cat.Causes()
	if len(causes) == 0 {
		t.Fatal("the built-in catalogue has no root causes")
	}
	for i, c := range causes {
		if i > 0 && causes[i-1].Line >= c.Line {
			t.Errorf("Causes() is not in file order: %s (line %d) after %s (line %d)", c.ID, c.Line, causes[i-1].ID, causes[i-1].Line)
		}
		if !strings.HasPrefix(c.File, "builtin:"+CausesFile) {
			t.Errorf("cause %s defined in %s, want builtin:%s", c.ID, c.File, CausesFile)
		}
		for _, id := range c.Rules {
			got, ok := cat.Cause(id)
			if !ok || got != c {
				t.Errorf("Cause(%s) = %v, %v; want cause %s, which lists it", id, got, ok, c.ID)
			}
		}
	}

	tests := []struct {
		rule, cause string
	}{
		{"KOR-IMG-001", "image-not-pinned"},
		{"KOR-IMG-002", "image-not-pinned"},
		{"KOR-IMG-004", "image-not-pinned"},
		{"KOR-POD-013", "container-not-hardened"},
		{"KOR-POD-018", "container-not-hardened"},
		{"kor-pod-014", "container-not-hardened"},              // case-insensitive
		{"KOR-NETPOL-001", "namespace-without-network-policy"}, // an alias of KOR-NET-001
		{"KOR-CP-006", "apiserver-authorization-mode"},
		// A digest does not clear these, so they are no symptom of a
		// mutable tag.
		{"KOR-IMG-003", ""},
		{"KOR-IMG-005", ""},
		// A decision of its own, not a missing default.
		{"KOR-POD-001", ""},
		{"KOR-NOPE-1", ""},
	}
	for _, tt := range tests {
		c, ok := cat.Cause(tt.rule)
		got := ""
		if ok {
			got = c.ID
		}
		if got != tt.cause {
			t.Errorf("Cause(%s) = %q, want %q", tt.rule, got, tt.cause)
		}
	}
}

// TestCustomRulesHaveNoCause checks that a catalogue of rules not loaded by
// Builtin has no causes, and that a causes file is not a rule file.
func TestCustomRulesHaveNoCause(t *testing.T) {
	rs, err := ParseRules([]byte(validRuleYAML("ACME-POD-1")), "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := NewCatalogue(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Causes()) != 0 {
		t.Errorf("custom catalogue has causes %v", cat.Causes())
	}
	if _, ok := cat.Cause("ACME-POD-1"); ok {
		t.Error("custom rule has a cause")
	}
	if _, err := ParseRules([]byte(validCauseYAML), "causes.yaml"); err == nil {
		t.Error("ParseRules accepted a causes file")
	}
}

func validRuleYAML(id string) string {
	return "id: " + id + `
title: Test rule
severity: low
match: {workloads: true}
validations: [{expression: "true"}]
remediation: Nothing to do.
`
}

const validCauseYAML = `id: test-cause
title: Test cause
explanation: Both rules fail when the field is missing.
remediation: Set the field.
rules: [ACME-POD-1, ACME-POD-2]
`

func TestParseCauses(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    []string
	}{
		{"valid", validCauseYAML, nil},
		{"two documents", validCauseYAML + "---\n" + strings.Replace(validCauseYAML, "test-cause", "other-cause", 1), nil},
		{"unknown field", validCauseYAML + "severity: high\n", []string{`causes.yaml:1`, `unknown field "severity"`}},
		{"bad id", strings.Replace(validCauseYAML, "test-cause", "Test_Cause", 1), []string{`id "Test_Cause"`}},
		{"no title", strings.Replace(validCauseYAML, "title: Test cause", "title: ' '", 1), []string{"title is required"}},
		{"no explanation", strings.Replace(validCauseYAML, "explanation: Both rules fail when the field is missing.", "", 1), []string{"explanation is required"}},
		{"no remediation", strings.Replace(validCauseYAML, "remediation: Set the field.", "", 1), []string{"remediation is required"}},
		{"one rule", strings.Replace(validCauseYAML, "[ACME-POD-1, ACME-POD-2]", "[ACME-POD-1]", 1), []string{"at least two rules"}},
		{"rule twice", strings.Replace(validCauseYAML, "[ACME-POD-1, ACME-POD-2]", "[ACME-POD-1, ACME-POD-2, ACME-POD-1]", 1), []string{"rules[2]: ACME-POD-1 listed twice"}},
		{"not an ID", strings.Replace(validCauseYAML, "ACME-POD-2", "acme pod 2", 1), []string{`rules[1] "acme pod 2": not a rule ID`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			causes, err := ParseCauses([]byte(tt.yaml), "causes.yaml")
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ParseCauses: %v", err)
				}
				if len(causes) == 0 || causes[0].ID != "test-cause" || causes[0].Line != 1 || len(causes[0].Rules) != 2 {
					t.Errorf("ParseCauses = %+v", causes)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseCauses succeeded, want an error with %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestLinkCauses(t *testing.T) {
	rules := func() []*Rule {
		var rs []*Rule
		for _, id := range []string{"ACME-POD-1", "ACME-POD-2", "ACME-POD-3"} {
			r, err := ParseRules([]byte(validRuleYAML(id)), "custom.yaml")
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r...)
		}
		rs[2].Aliases = []string{"ACME-OLD-3"}
		return rs
	}
	cause := func(id string, rules ...string) *Cause {
		return &Cause{ID: id, Title: "t", Explanation: "e", Remediation: "r", Rules: rules, File: "causes.yaml", Line: 1}
	}
	tests := []struct {
		name    string
		causes  []*Cause
		wantErr string
	}{
		{"valid", []*Cause{cause("a", "ACME-POD-1", "ACME-POD-2")}, ""},
		{"unknown rule", []*Cause{cause("a", "ACME-POD-1", "ACME-POD-9")}, "cause a (causes.yaml:1): no rule ACME-POD-9"},
		{"alias", []*Cause{cause("a", "ACME-POD-1", "ACME-OLD-3")}, "ACME-OLD-3 is an alias; list the rule's ID, ACME-POD-3"},
		{"rule in two causes", []*Cause{cause("a", "ACME-POD-1", "ACME-POD-2"), cause("b", "ACME-POD-2", "ACME-POD-3")},
			"cause b (causes.yaml:1): ACME-POD-2 already belongs to cause a"},
		{"cause twice", []*Cause{cause("a", "ACME-POD-1", "ACME-POD-2"), cause("a", "ACME-POD-3", "ACME-POD-1")}, "cause a defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rules()
			err := linkCauses(rs, tt.causes)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				cat, err := NewCatalogue(rs)
				if err != nil {
					t.Fatal(err)
				}
				if c, ok := cat.Cause("acme-pod-2"); !ok || c != tt.causes[0] {
					t.Errorf("Cause(acme-pod-2) = %v, %v", c, ok)
				}
				if _, ok := cat.Cause("ACME-POD-3"); ok {
					t.Error("ACME-POD-3 has a cause")
				}
				if got := cat.Causes(); !slices.Equal(got, tt.causes) {
					t.Errorf("Causes() = %v, want %v", got, tt.causes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("linkCauses error = %v, want one with %q", err, tt.wantErr)
			}
			for _, r := range rs {
				if r.cause != nil {
					t.Errorf("after a failed link, %s has cause %s", r.ID, r.cause.ID)
				}
			}
		})
	}
}

// TestCausesDoc keeps the table of causes in docs/findings-and-events.md in
// step with the causes file.
func TestCausesDoc(t *testing.T) {
	cat, err := BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../docs/findings-and-events.md")
	if err != nil {
		t.Fatal(err)
	}
	// The rows of the first table of the section Root causes.
	var rows []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "### Root causes":
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			rows = append(rows, line)
		}
	}
	var want []string
	for _, c := range cat.Causes() {
		want = append(want, "| `"+c.ID+"` | "+strings.Join(c.Rules, ", ")+" |")
	}
	if !slices.Equal(rows, want) {
		t.Errorf("the table of causes in docs/findings-and-events.md is out of date; want:\n%s", strings.Join(want, "\n"))
	}
}
