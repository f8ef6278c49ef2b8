package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// TestJSONLargeMatchesEncoder checks that the chunked, parallel writing of
// large finding lists gives exactly what encoding/json gives for the whole
// document.
func TestJSONLargeMatchesEncoder(t *testing.T) {
	r := &finding.Report{Tool: finding.Tool{Name: "kordon", Version: "test"}}
	for i := 0; i < 1500; i++ {
		f := finding.Finding{
			RuleID: fmt.Sprintf("KOR-T-%03d", i%7), Title: "t <&> \"q\"", Severity: finding.Severity(i % 5),
			Controls: []string{"CIS:5.2.2"},
			Resource: finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: fmt.Sprintf("p%04d", i)},
			Message:  "line\nbreak \u2028 é",
		}
		if i%3 == 0 {
			f.Location = &finding.Location{File: "a.yaml", Line: i}
		}
		r.Findings = append(r.Findings, f)
	}
	r.Suppressed = r.Findings[:600]
	n := normalize(r)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var got bytes.Buffer
	if err := writeJSON(&got, &n, Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		SchemaVersion string `json:"schemaVersion"`
		GeneratedAt   string `json:"generatedAt"`
		*finding.Report
	}{JSONSchemaVersion, now.Format(time.RFC3339), &n}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("chunked JSON differs from encoding/json's (%d vs %d bytes)", got.Len(), want.Len())
	}
}
