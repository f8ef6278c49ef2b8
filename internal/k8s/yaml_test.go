package k8s

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// referenceDecode is the slow path decodeYAML replaces: sigs.k8s.io/yaml's
// YAML-to-JSON conversion (what kubectl uses), then a JSON decode.
func referenceDecode(text []byte) (any, error) {
	data, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data)
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

// TestDecodeYAMLMatchesReference checks the fast YAML path against the JSON
// round trip on tricky documents and on every YAML file in the repository's
// examples and rule fixtures.
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

func compareYAMLPaths(t *testing.T, doc []byte) {
	t.Helper()
	got, gotErr := decodeYAML(doc)
	want, wantErr := referenceDecode(doc)
	if (gotErr != nil) != (wantErr != nil) {
		t.Errorf("%q: error %v, reference error %v", doc, gotErr, wantErr)
		return
	}
	if gotErr != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\n got %#v\nwant %#v", doc, got, want)
	}
}

func FuzzDecodeYAMLMatchesReference(f *testing.F) {
	for _, c := range yamlCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		compareYAMLPaths(t, []byte(doc))
	})
}
