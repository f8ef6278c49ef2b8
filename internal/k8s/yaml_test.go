package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// referenceDecode is what decodeYAML replaces: how the API server reads a
// YAML document under strict field validation (kubectl's default).
// sigs.k8s.io/yaml converts the YAML to JSON (YAMLToJSONStrict: duplicate
// YAML keys are errors); apimachinery decodes the JSON with sigs.k8s.io/json
// (case-sensitive, whole numbers as int64), whose strict check rejects a
// duplicate field; Kordon then drops null map entries (Normalize).
//
// The API server converts twice, with YAMLToJSONStrict only for its errors
// and YAMLToJSON for the data; without duplicate keys the two give the same
// JSON, so one conversion stands for both.
//
// The reference is not deterministic on one kind of input: keys that
// become the same JSON string (1 and 1.0) keep, at random, one of their
// values. decodeYAML rejects those; compareYAMLPaths allows that only
// where the reference is seen to vary.
func referenceDecode(text []byte) (any, error) {
	data, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		return nil, err
	}
	if err := duplicateJSONField(data); err != nil {
		return nil, err
	}
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return Normalize(v), nil
}

// duplicateJSONField is sigs.k8s.io/json's strict check for duplicate
// fields (UnmarshalStrict with DisallowDuplicateFields): an object whose
// keys, as decoded strings, repeat.
func duplicateJSONField(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var objects []map[string]bool // keys seen in each open object
	var inKey []bool              // whether the next token of each open container is a key
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := len(inKey) - 1
		if top >= 0 && inKey[top] {
			if key, ok := tok.(string); ok {
				if objects[top][key] {
					return fmt.Errorf("duplicate field %q", key)
				}
				objects[top][key] = true
				inKey[top] = false
				continue
			}
		}
		if top >= 0 && objects[top] != nil {
			inKey[top] = true // a value was read; a key comes next
		}
		switch tok {
		case json.Delim('{'):
			objects = append(objects, map[string]bool{})
			inKey = append(inKey, true)
		case json.Delim('['):
			objects = append(objects, nil)
			inKey = append(inKey, false)
		case json.Delim('}'), json.Delim(']'):
			objects, inKey = objects[:top], inKey[:top]
			if top > 0 && objects[top-1] != nil {
				inKey[top-1] = true
			}
		}
	}
}

func TestDuplicateJSONField(t *testing.T) {
	tests := []struct {
		in  string
		dup bool
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"x":1,"y":[1,{"x":2}],"x":3}}`, true},
		{`[{"\ufffd":1,"�":2}]`, true},
		{`{"a":[],"b":{},"a":null}`, true},
	}
	for _, tt := range tests {
		if got := duplicateJSONField([]byte(tt.in)) != nil; got != tt.dup {
			t.Errorf("duplicateJSONField(%s) = %v, want %v", tt.in, got, tt.dup)
		}
	}
}

var yamlCases = []string{
	"a: 1\nb: 1.0\nc: 1.5\nd: -0.0\ne: 1e3\nf: 12345678901234567890\ng: 1e21\nh: 0x1F\ni: 0o17\nj: 017\n",
	"a: yes\nb: no\nc: on\nd: off\ne: y\nf: true\ng: False\nh: ~\ni: null\nj: ''\n",
	"1: one\n2.5: two\ntrue: three\nnested: {3: x, k: [1, null, {a: null}]}\n",
	"t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\nexplicit: !!timestamp 2001-12-14\n",
	"s: !!str 123\nb: !!binary aGVsbG8=\nf: !!float 3\ni: !!int '7'\n",
	"anchors: &a {x: 1}\nref: *a\nmerge: {<<: *a, y: 2}\n",
	"big: 9223372036854775807\nbigger: 9223372036854775808\nneg: -9223372036854775808\n",
	"inf: .inf\n",
	"nan: .nan\n",
	"dup: 1\ndup: 2\n",
	"- a\n- b\n",
	"just a string\n",
	"key: [unclosed\n",
	"multi: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n",
}

// TestDecodeYAMLMatchesReference checks the fast YAML path against the
// reference on every YAML file in the repository's examples and rule
// fixtures.
func TestDecodeYAMLMatchesReference(t *testing.T) {
	docs := append([]string(nil), yamlCases...)
	for _, root := range []string{"../../examples", "../rules/packs/fixtures", "testdata"} {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return nil
			}
			if strings.Contains(p, "/templates/") {
				return nil // Helm templates are not YAML until rendered
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range SplitDocuments(data) {
				docs = append(docs, string(doc.Text))
			}
			return nil
		})
	}
	if len(docs) < 200 {
		t.Fatalf("only %d documents compared", len(docs))
	}
	for _, doc := range docs {
		compareYAMLPaths(t, []byte(doc))
	}
}

// compareYAMLPaths checks that decodeYAML is deterministic, names lines
// inside the document, and agrees with the reference: the same value, or
// an error where the reference errs. Where the reference is not
// deterministic (colliding keys), decodeYAML must report an error.
func compareYAMLPaths(t *testing.T, doc []byte) {
	t.Helper()
	got, gotErr := decodeYAML(doc, 1)
	again, againErr := decodeYAML(doc, 1)
	if !reflect.DeepEqual(got, again) || fmt.Sprint(gotErr) != fmt.Sprint(againErr) {
		t.Errorf("%q: decodes differently twice:\n%#v, %v\n%#v, %v", doc, got, gotErr, again, againErr)
		return
	}
	if gotErr != nil {
		var yerr *yamlError
		if !errors.As(gotErr, &yerr) {
			t.Errorf("%q: error %v is a %T, not a *yamlError", doc, gotErr, gotErr)
		} else if maxLine := bytes.Count(doc, []byte("\n")) + 1; yerr.line < 0 || yerr.line > maxLine {
			t.Errorf("%q: error on line %d, outside the document (%d lines): %v", doc, yerr.line, maxLine, gotErr)
		}
	}
	want, wantErr := referenceDecode(doc)
	if (gotErr != nil) == (wantErr != nil) && (gotErr != nil || reflect.DeepEqual(got, want)) {
		return
	}
	if gotErr != nil && referenceVaries(doc) {
		return // the reference keeps one of colliding keys at random
	}
	if gotErr != nil || wantErr != nil {
		t.Errorf("%q: error %v, reference error %v", doc, gotErr, wantErr)
		return
	}
	t.Errorf("%q:\n got %#v\nwant %#v", doc, got, want)
}

// referenceVaries reports whether the reference gives two different
// results for doc in up to 1,000 runs. Colliding keys come out of a Go map,
// whose order changes with every run: the chance that two keys keep their
// order in every run is below (7/8)^1000.
func referenceVaries(doc []byte) bool {
	first, firstErr := referenceDecode(doc)
	for range 1000 {
		v, err := referenceDecode(doc)
		if (err != nil) != (firstErr != nil) || !reflect.DeepEqual(v, first) {
			return true
		}
	}
	return false
}

func FuzzDecodeYAMLMatchesReference(f *testing.F) {
	for _, c := range yamlCases {
		f.Add(c)
	}
	for _, c := range trickyYAML {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		compareYAMLPaths(t, []byte(doc))
	})
}
