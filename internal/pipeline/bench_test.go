package pipeline

import (
	"fmt"
	"io"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/report"
)

// manyFindings returns n findings of 40 rules over n/4 resources, in the
// order an engine produces them (by resource).
func manyFindings(n int) []finding.Finding {
	controls := []string{"CIS:5.2.2", "NSA:pod-security"}
	out := make([]finding.Finding, n)
	for i := range out {
		out[i] = finding.Finding{
			RuleID: fmt.Sprintf("KOR-T-%03d", i%40), Title: "a title", Severity: finding.Severity(i % 5), Controls: controls,
			Resource: finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: fmt.Sprintf("team-%03d", i/4000), Name: fmt.Sprintf("app-%05d", i/4)},
			Location: &finding.Location{File: "generated.yaml", Line: i / 4 * 40},
			Message:  fmt.Sprintf("container %q has no resource limits", fmt.Sprint("c", i%3)), Remediation: "set them",
		}
	}
	return out
}

// BenchmarkBuildAndWriteJSON builds the report of 400,000 findings (what
// 100,000 generated objects give) and writes it as JSON: exceptions,
// sorting, scores and encoding, with the findings held once.
func BenchmarkBuildAndWriteJSON(b *testing.B) {
	fs := manyFindings(400000)
	tallies := make([]finding.RuleTally, 40)
	for i := range tallies {
		tallies[i] = finding.RuleTally{RuleID: fmt.Sprintf("KOR-T-%03d", i), Controls: []string{"CIS:5.2.2"}, Evaluated: 100000}
	}
	b.ReportAllocs()
	for b.Loop() {
		in := Input{Findings: append([]finding.Finding(nil), fs...), Tallies: tallies, Resources: 100000, Checks: 40}
		rep := Build(in, Options{UseAnnotations: true})
		if err := report.Write(io.Discard, "json", rep, report.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
