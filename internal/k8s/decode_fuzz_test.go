package k8s

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecode checks that Decode never panics, gives the same result every
// time, and that everything it returns is well formed: objects have a
// string apiVersion and kind, lines lie in the input, and content holds
// only JSON-compatible values (strings and keys in UTF-8).
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
		objs2, errs2 := Decode(data, "fuzz.yaml")
		if fmt.Sprint(located(objs), errs) != fmt.Sprint(located(objs2), errs2) {
			t.Fatalf("decoded differently twice:\n%v %v\n%v %v", located(objs), errs, located(objs2), errs2)
		}
		for i := range objs {
			if !reflect.DeepEqual(objs[i].Content, objs2[i].Content) {
				t.Fatalf("object %d decoded differently twice:\n%#v\n%#v", i, objs[i].Content, objs2[i].Content)
			}
		}
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
		for k, e := range x {
			if !utf8.ValidString(k) {
				t.Fatalf("key %q is not UTF-8", k)
			}
			checkJSONValue(t, e)
		}
	case []any:
		for _, e := range x {
			checkJSONValue(t, e)
		}
	case string:
		if !utf8.ValidString(x) {
			t.Fatalf("string %q is not UTF-8", x)
		}
	case bool, int64, float64, nil:
	default:
		t.Fatalf("value %#v has type %T, not a JSON-compatible type", v, v)
	}
}
