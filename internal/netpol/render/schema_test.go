package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kordon-dev/kordon/internal/netpol/diff"
)

// TestAnalysisJSONSchema validates the JSON output of analyze against the
// published schema, and checks that the schema catches a renamed field.
func TestAnalysisJSONSchema(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "schemas", "netpol-connectivity.schema.json")
	c := jsonschema.NewCompiler()
	schema, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteAnalysis(&buf, "json", shopResult(t)); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"output": buf.String(), "golden": mustRead(t, "testdata/shop.json")} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s does not match the schema: %v", name, err)
		}
	}
	drift := strings.Replace(buf.String(), `"srcKind"`, `"sourceKind"`, 1)
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(drift))
	if err := schema.Validate(doc); err == nil {
		t.Error("schema accepted a renamed field")
	}
}

// TestDiffJSONSchema validates the JSON output of diff against the
// published schema.
func TestDiffJSONSchema(t *testing.T) {
	schema, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "..", "docs", "schemas", "netpol-diff.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDiff(&buf, "json", diff.Diff(load(t, "old.yaml"), load(t, "new.yaml"))); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("output does not match the schema: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
