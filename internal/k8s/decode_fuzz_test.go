package k8s

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics and that everything it returns
// is well formed: objects have a string apiVersion and kind, lines lie in
// the input, and content holds only JSON-compatible values.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		"",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
		"---\n--- {apiVersion: v1, kind: A}\n...\n---\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n- 3\n",
		`{"apiVersion": "v1", "kind": "B", "n": 1.5}`,
		"a: &a [*a]\n",
		"- a\n- b\n",
		"apiVersion: v1\nkind: X\nmetadata: [\n",
		"%YAML 1.1\n---\napiVersion: v1\nkind: Y\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("../../examples/plain/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, errs := Decode(data, "fuzz.yaml")
		maxLine := bytes.Count(data, []byte("\n")) + 1
		for _, o := range objs {
			if o.APIVersion() == "" || o.Kind() == "" {
				t.Fatalf("object without apiVersion or kind: %#v", o.Content)
			}
			if o.Source.File != "fuzz.yaml" || o.Source.Line < 1 || o.Source.Line > maxLine {
				t.Fatalf("object source %s outside the input (%d lines)", o.Source, maxLine)
			}
			checkJSONValue(t, o.Content)
		}
		for _, e := range errs {
			if e == nil || e.Err == nil || e.File != "fuzz.yaml" {
				t.Fatalf("malformed input error %#v", e)
			}
			if e.Line < 0 || e.Line > maxLine {
				t.Fatalf("error line %d outside the input (%d lines): %v", e.Line, maxLine, e)
			}
		}
	})
}

func checkJSONValue(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			checkJSONValue(t, e)
		}
	case []any:
		for _, e := range x {
			checkJSONValue(t, e)
		}
	case string, bool, int64, float64, nil:
	default:
		t.Fatalf("value %#v has type %T, not a JSON-compatible type", v, v)
	}
}
