package pipeline

import (
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

func TestBuild(t *testing.T) {
	web := finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	db := finding.Resource{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"} // no namespace in the file
	in := Input{
		Findings: []finding.Finding{
			{RuleID: "KOR-NET-002", Severity: finding.Medium, Controls: []string{"CIS:5.3.2"}, Resource: web},
			{RuleID: "KOR-POD-001", Severity: finding.High, Controls: []string{"CIS:5.2.2"}, Resource: web},
			// An engine that resolves the namespace reports db in default.
			{RuleID: "KOR-NETPOL-002", Severity: finding.Medium, Controls: []string{"CIS:5.3.2"}, Resource: finding.Resource{Kind: "StatefulSet", Namespace: "default", Name: "db"}},
		},
		Tallies: []finding.RuleTally{
			{RuleID: "KOR-NET-002", Controls: []string{"CIS:5.3.2"}, Evaluated: 2},
			{RuleID: "KOR-POD-001", Controls: []string{"CIS:5.2.2"}, Evaluated: 2},
		},
		Resources: 2, Checks: 2,
		Objects: []*k8s.Object{{Content: map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet",
			"metadata": map[string]any{"name": db.Name, "annotations": map[string]any{
				finding.AnnotationRules: "KOR-NET-002", finding.AnnotationReason: "isolated by the CNI"}}}}},
	}
	names := func(id string) []string {
		if id == "KOR-NET-002" || id == "KOR-NETPOL-002" {
			return []string{"KOR-NET-002", "KOR-NETPOL-002"}
		}
		return []string{id}
	}
	opts := Options{
		// An exception written for the lint alias covers the check under
		// its scan ID too.
		Exceptions:     []finding.Exception{{Rule: "KOR-NETPOL-*", Namespace: "shop", Reason: "staged rollout"}},
		UseAnnotations: true,
		Now:            time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Names:          names,
	}
	rep := Build(in, opts)
	if len(rep.Findings) != 1 || rep.Findings[0].RuleID != "KOR-POD-001" {
		t.Errorf("findings: %+v, want only KOR-POD-001", rep.Findings)
	}
	if len(rep.Suppressed) != 2 {
		t.Errorf("suppressed: %+v, want the alias exception and the annotation", rep.Suppressed)
	}
	if rep.Summary.Findings != 1 || rep.Summary.Suppressed != 2 || rep.Summary.Resources != 2 || rep.Summary.Rules != 2 {
		t.Errorf("summary: %+v", rep.Summary)
	}
	// CIS:5.3.2 passed everywhere after exceptions; 5.2.2 failed 1 of 2.
	if len(rep.Scores) != 1 || rep.Scores[0].Score != 75 {
		t.Errorf("scores: %+v, want CIS 75", rep.Scores)
	}

	// Without names, the alias exception does not reach the scan ID.
	opts.Names = nil
	if rep := Build(in, opts); len(rep.Findings) != 3 {
		t.Errorf("without aliases: %d findings, want 3 (neither alias exception applies)", len(rep.Findings))
	}
	// The lists are never nil (JSON shows []).
	empty := Build(Input{}, Options{})
	if empty.Findings == nil || empty.Suppressed == nil || empty.Errors == nil || empty.Warnings == nil || empty.ExpiredExceptions == nil {
		t.Errorf("nil list in %+v", empty)
	}
}

func TestGate(t *testing.T) {
	rep := &finding.Report{
		Findings: []finding.Finding{{Severity: finding.Medium}},
		Scores:   []finding.FrameworkScore{{Framework: "CIS", Score: 50}, {Framework: "PSS", Score: 90}},
	}
	tests := []struct {
		name string
		gate Gate
		errs int
		want int
	}{
		{"finding at threshold", Gate{FailOn: finding.Medium}, 0, ExitFindings},
		{"finding under threshold", Gate{FailOn: finding.High}, 0, ExitClean},
		{"never", Gate{Never: true}, 0, ExitClean},
		{"errors win", Gate{Never: true}, 1, ExitErrors},
		{"any framework under the minimum", Gate{Never: true, MinScore: 80}, 0, ExitFindings},
		{"only the selected framework's score counts", Gate{Never: true, MinScore: 80, Frameworks: []string{"pss"}}, 0, ExitClean},
		{"selected framework under the minimum", Gate{Never: true, MinScore: 95, Frameworks: []string{"PSS"}}, 0, ExitFindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *rep
			for range tt.errs {
				r.Errors = append(r.Errors, finding.Problem{Message: "bad"})
			}
			if got := tt.gate.Judge(&r); got.Code != tt.want {
				t.Errorf("code %d (%s), want %d", got.Code, got.Reason, tt.want)
			}
		})
	}
	if _, _, err := ParseFailOn("severe"); err == nil {
		t.Error("ParseFailOn accepted an unknown severity")
	}
	if _, never, err := ParseFailOn("NONE"); err != nil || !never {
		t.Errorf("ParseFailOn(NONE) = %v, %v", never, err)
	}
}
