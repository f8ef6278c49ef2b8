package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kordon-dev/kordon/internal/finding"
)

// scanSchema is the published JSON Schema of the JSON format.
var scanSchema = filepath.Join("..", "..", "docs", "schemas", "scan-report.schema.json")

func TestJSONSchema(t *testing.T) {
	schema := compileSchema(t, scanSchema)
	for _, name := range []string{"rich", "empty"} {
		t.Run(name+" golden", func(t *testing.T) {
			validateJSON(t, schema, readFile(t, filepath.Join("testdata", name+".json.golden")))
		})
	}
	t.Run("nil report", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Write(&buf, "json", nil, Options{Now: fixedNow}); err != nil {
			t.Fatal(err)
		}
		validateJSON(t, schema, buf.Bytes())
	})
	t.Run("schema rejects drift", func(t *testing.T) {
		// A renamed field must fail validation, so that the schema and
		// docs/json-output.md are updated with the code.
		data := strings.Replace(string(readFile(t, "testdata/rich.json.golden")), `"ruleID"`, `"ruleId"`, 1)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err == nil {
			t.Error("schema accepted a finding with ruleId instead of ruleID")
		}
	})
}

func TestJSONArraysNeverNull(t *testing.T) {
	var buf bytes.Buffer
	r := &finding.Report{Findings: []finding.Finding{{RuleID: "R", Resource: finding.Resource{Kind: "Pod", Name: "p"}}}}
	if err := Write(&buf, "json", r, Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("null")) {
		t.Errorf("JSON output contains null:\n%s", buf.String())
	}
	var back struct {
		SchemaVersion string            `json:"schemaVersion"`
		Findings      []finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.SchemaVersion != JSONSchemaVersion || len(back.Findings) != 1 || back.Findings[0].Controls == nil {
		t.Errorf("round trip = %+v, want schema version %s and one finding with controls []", back, JSONSchemaVersion)
	}
}
