package k8s

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// located formats an object as "line Kind namespace/name" for comparisons.
func located(objs []*Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%d %s", o.Source.Line, o.Ref()))
	}
	return out
}

// wantErr describes one expected InputError: its line, a part of its
// message, and whether it is a skipped non-object (a warning).
type wantErr struct {
	line      int
	contains  string
	notObject bool
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		errs []wantErr
	}{
		{
			name: "single document",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: ns
`,
			want: []string{"1 ConfigMap ns/a"},
		},
		{
			name: "empty input",
			in:   "",
		},
		{
			name: "only comments and separators",
			in:   "# nothing here\n---\n   \n# still nothing\n---\n...\n",
		},
		{
			name: "multi-document with leading comment",
			in: `# a comment before the first object
apiVersion: v1
kind: Namespace
metadata:
  name: one
---
apiVersion: v1
kind: Namespace
metadata:
  name: two
`,
			want: []string{"2 Namespace one", "7 Namespace two"},
		},
		{
			name: "separator variants",
			in: `---
apiVersion: v1
kind: Namespace
metadata: {name: a}
--- # a comment after the separator
apiVersion: v1
kind: Namespace
metadata: {name: b}
---	
apiVersion: v1
kind: Namespace
metadata: {name: c}
--- {apiVersion: v1, kind: Namespace, metadata: {name: d}}
---
# comment lines are not the object's start

apiVersion: v1
kind: Namespace
metadata: {name: e}
...
---
`,
			want: []string{
				"2 Namespace a", "6 Namespace b", "10 Namespace c",
				"13 Namespace d", "17 Namespace e",
			},
		},
		{
			name: "content after a document end is not read",
			in: `apiVersion: v1
kind: Pod
metadata: {name: p}
...
metadata: {name: q, annotations: {kordon.dev/ignore: all}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns}
`,
			want: []string{"1 Pod p", "7 Namespace ns"},
		},
		{
			name: "not separators",
			in: `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data:
  text: |
    ----
    ---not-a-separator
`,
			want: []string{"1 ConfigMap a"},
		},
		{
			name: "CRLF line endings",
			in:   "apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: b\r\n",
			want: []string{"1 Namespace a", "6 Namespace b"},
		},
		{
			name: "JSON object",
			in: `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "prod"}
}`,
			want: []string{"1 Deployment prod/web"},
		},
		{
			name: "JSON after blank lines",
			in:   "\n\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}\n",
			want: []string{"3 Pod p"},
		},
		{
			name: "kind List items keep their own lines",
			in: `# kubectl get -o yaml
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: a
    namespace: x
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: b
    namespace: x
metadata:
  resourceVersion: ""
`,
			want: []string{"5 Service x/a", "10 Deployment x/b"},
		},
		{
			name: "typed list after another document",
			in: `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: ConfigMapList
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: b}
`,
			want: []string{"1 Namespace x", "8 ConfigMap a", "11 ConfigMap b"},
		},
		{
			name: "bad List items are errors, good ones load",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: ok}
- just a string
- metadata: {name: no-type}
- apiVersion: v1
  metadata: {name: no-kind}
`,
			want: []string{"4 Namespace ok"},
			errs: []wantErr{
				{line: 7, contains: "items[1] is a string"},
				{line: 8, contains: "items[2]: missing fields apiVersion and kind"},
				{line: 9, contains: "items[3]: missing field kind"},
			},
		},
		{
			name: "empty List",
			in:   "apiVersion: v1\nkind: List\nitems: []\n",
		},
		{
			name: "malformed YAML reports the file line",
			in: `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
	data: tab-indented
`,
			want: []string{"1 Namespace a"},
			errs: []wantErr{{line: 9, contains: "invalid YAML"}},
		},
		{
			name: "malformed YAML does not hide later documents",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: [unclosed
---
apiVersion: v1
kind: Namespace
metadata: {name: after}
`,
			want: []string{"6 Namespace after"},
			errs: []wantErr{{line: 4, contains: "invalid YAML"}},
		},
		{
			name: "duplicate key",
			in:   "apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: a}\n",
			errs: []wantErr{{line: 3, contains: `invalid YAML: key "kind" already set in map`}},
		},
		{
			name: "duplicate key with a block value in a later document",
			in: `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
data:
  x: "1"
metadata:
  name: c
`,
			want: []string{"1 Namespace a"},
			errs: []wantErr{{line: 11, contains: `invalid YAML: key "metadata" already set in map (first set on line 7)`}},
		},
		{
			name: "duplicate key with an empty value",
			in:   "apiVersion: v1\nkind: Pod\nkind:\nmetadata: {name: a}\n",
			errs: []wantErr{{line: 3, contains: `key "kind" already set in map (first set on line 2)`}},
		},
		{
			name: "keys that are the same JSON key",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  1: a\n  1.0: b\n",
			want: []string{"1 ConfigMap a"},
			errs: []wantErr{{line: 10, contains: `key 1.0 and key 1 on line 9 are the same JSON key "1"`}},
		},
		{
			name: "invalid UTF-8 in a later document",
			in:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  k: \"\xc3\x28\"\n",
			want: []string{"1 Namespace a"},
			errs: []wantErr{{line: 9, contains: "invalid YAML: byte 0xC3 is not valid UTF-8"}},
		},
		{
			name: "not UTF-8 after a line YAML breaks but files do not",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {x: \"a\u2028b\", y: \"c\rd\"}}\ndata: {k: !!binary gA==, j: \"\x01\"}\n",
			errs: []wantErr{{line: 4, contains: "control character U+0001 is not allowed"}},
		},
		{
			name: "syntax error after a line YAML breaks but files do not",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {x: \"a\u2028b\", y: \"c\rd\"}}\ndata: [\n",
			errs: []wantErr{{line: 4, contains: "invalid YAML: did not find expected node content"}},
		},
		{
			name: "duplicate key after a line YAML breaks but files do not",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {x: \"a\u2028b\", y: \"c\rd\"}}\ndata: {}\ndata: {}\n",
			errs: []wantErr{{line: 5, contains: `key "data" already set in map (first set on line 4)`}},
		},
		{
			name: "parser error names its own line",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n labels: {}\n",
			errs: []wantErr{{line: 5, contains: "invalid YAML: did not find expected key"}},
		},
		{
			name: "value with no JSON form",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: .inf\n",
			errs: []wantErr{{line: 5, contains: ".inf has no JSON form"}},
		},
		{
			name: "binary text that is not UTF-8",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: !!binary gIE=\n",
			want: []string{"1 ConfigMap a"},
		},
		{
			name: "missing kind",
			in:   "\napiVersion: v1\nmetadata: {name: a}\n",
			errs: []wantErr{{line: 2, contains: "missing field kind"}},
		},
		{
			name: "missing apiVersion",
			in:   "kind: Pod\nmetadata: {name: a}\n",
			errs: []wantErr{{line: 1, contains: "missing field apiVersion"}},
		},
		{
			name: "kind is not a string",
			in:   "apiVersion: v1\nkind: 3\n",
			errs: []wantErr{{line: 1, contains: "kind must be a non-empty string"}},
		},
		{
			name: "empty apiVersion",
			in:   "apiVersion: \"\"\nkind: Pod\n",
			errs: []wantErr{{line: 1, contains: "apiVersion must be a non-empty string"}},
		},
		{
			name: "metadata is not a mapping",
			in:   "apiVersion: v1\nkind: Pod\nmetadata: [a]\n",
			errs: []wantErr{{line: 1, contains: "metadata must be a mapping"}},
		},
		{
			name: "values file is a skipped non-object",
			in:   "# values.yaml\nreplicaCount: 2\nimage:\n  tag: latest\n",
			errs: []wantErr{{line: 2, contains: "no apiVersion or kind", notObject: true}},
		},
		{
			name: "top-level list is a skipped non-object",
			in:   "- hosts: all\n  tasks: []\n",
			errs: []wantErr{{line: 1, contains: "document is a list", notObject: true}},
		},
		{
			name: "scalar document is a skipped non-object",
			in:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\njust text\n",
			want: []string{"1 Namespace a"},
			errs: []wantErr{{line: 5, contains: "document is a string", notObject: true}},
		},
		{
			name: "null document",
			in:   "~\n---\nnull\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := Decode([]byte(tt.in), "in.yaml")
			if got := located(objs); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("objects:\ngot  %q\nwant %q", got, tt.want)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.errs))
			}
			for i, e := range errs {
				w := tt.errs[i]
				if e.File != "in.yaml" || e.Line != w.line {
					t.Errorf("error %d at %s:%d, want in.yaml:%d (%v)", i, e.File, e.Line, w.line, e)
				}
				if !strings.Contains(e.Error(), w.contains) {
					t.Errorf("error %d = %q, want it to contain %q", i, e.Error(), w.contains)
				}
				if got := errors.Is(e, ErrNotObject); got != w.notObject {
					t.Errorf("error %d: errors.Is(ErrNotObject) = %v, want %v", i, got, w.notObject)
				}
			}
		})
	}
}

// TestSplitDocumentsMatchesKubectl checks how Decode cuts a stream into
// documents against kubectl, which cuts it with apimachinery's YAMLReader
// and reads each part as referenceDecode does (only its first YAML
// document).
func TestSplitDocumentsMatchesKubectl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// kubectl fails on a part that holds no content (only "..." or
		// a directive); Decode skips it as empty.
		lenient bool
	}{
		{"separators", "a: 1\n---\nb: 2\n--- # comment\nc: 3\n---\t\nd: 4\n", false},
		{"separator first and last", "---\na: 1\n---\n", false},
		{"CRLF", "a: 1\r\n---\r\nb: 2\r\n", false},
		{"document end", "a: 1\n...\n---\nb: 2\n...\n", false},
		{"content after a document end is ignored", "a: 1\n...\nb: 2\n---\nc: 3\n", false},
		{"content after a commented document end is ignored", "a: 1\n... # end\nb: 2\n", false},
		{"document end alone", "a: 1\n---\n...\n---\nb: 2\n", true},
		{"document end first", "...\na: 1\n", false},
		{"not a document end", "a: 1\n...x\n", false},
		{"separator inside a block scalar", "a: |\n  x\n  ---\n  y\nb: 1\n", false},
		{"separator ends a block scalar", "a: |\n  x\n---\nb: 1\n", false},
		{"directive", "%YAML 1.1\n---\na: 1\n---\nb: 2\n", true},
		{"comments only", "# a\n---\n# b\n", false},
		{"list", "- a\n---\n- b\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range splitDocuments([]byte(tt.in)) {
				if firstContentLine(d.text) < 0 {
					continue
				}
				got = append(got, outcome(decodeYAML(d.text, d.startLine)))
			}
			var want []string
			r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(tt.in)))
			for {
				chunk, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("kubectl cannot split the stream: %v", err)
				}
				v, err := referenceDecode(chunk)
				if err != nil && tt.lenient && firstContentLine(chunk) < 0 {
					continue
				}
				if err != nil || v != nil {
					want = append(want, outcome(v, err))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("documents:\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

// outcome shows a decoded document, or "error" when it fails.
func outcome(v any, err error) string {
	if err != nil {
		return "error"
	}
	return fmt.Sprintf("%v", v)
}

func TestDecodeErrorMessageHasNoDocumentLine(t *testing.T) {
	// The converter's "line N" is relative to the document; the InputError
	// carries the file line instead, and the message must not contradict it.
	in := "apiVersion: v1\nkind: Namespace\n---\napiVersion: v1\nkind: [\n"
	_, errs := Decode([]byte(in), "f.yaml")
	if len(errs) != 1 {
		t.Fatalf("got %d errors %v, want 1", len(errs), errs)
	}
	msg := errs[0].Error()
	if !strings.HasPrefix(msg, "f.yaml:") || strings.Contains(msg, "line ") {
		t.Errorf("message = %q, want it to start with f.yaml:<line> and not name a document line", msg)
	}
}

func TestDecodeNumbers(t *testing.T) {
	in := `apiVersion: v1
kind: Test
metadata: {name: n}
int: 3
negative: -7
zero: 0
float: 1.5
wholeFloat: 2.0
exponent: 1e3
octal: 0400
big: 9223372036854775807
tooBig: 18446744073709551616
quoted: "42"
port: 8080
`
	objs, errs := Decode([]byte(in), "n.yaml")
	if len(errs) != 0 || len(objs) != 1 {
		t.Fatalf("got %d objects, errors %v", len(objs), errs)
	}
	c := objs[0].Content
	tests := []struct {
		key  string
		want any
	}{
		{"int", int64(3)},
		{"negative", int64(-7)},
		{"zero", int64(0)},
		{"float", 1.5},
		{"wholeFloat", int64(2)},
		{"exponent", int64(1000)},
		{"octal", int64(256)}, // YAML 1.1 octal, as Kubernetes reads defaultMode: 0400
		{"big", int64(9223372036854775807)},
		{"tooBig", 1.8446744073709552e19},
		{"quoted", "42"},
		{"port", int64(8080)},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := c[tt.key]
			if got != tt.want {
				t.Errorf("%s = %#v (%T), want %#v (%T)", tt.key, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestDecodeJSONNumbers(t *testing.T) {
	in := `{"apiVersion": "v1", "kind": "Test", "a": 1, "b": 0.25, "c": [1, 2.5], "d": {"e": 10}}`
	objs, errs := Decode([]byte(in), "n.json")
	if len(errs) != 0 || len(objs) != 1 {
		t.Fatalf("got %d objects, errors %v", len(objs), errs)
	}
	c := objs[0].Content
	if got := c["a"]; got != int64(1) {
		t.Errorf("a = %#v, want int64(1)", got)
	}
	if got := c["b"]; got != 0.25 {
		t.Errorf("b = %#v, want 0.25", got)
	}
	list := Slice(c, "c")
	if len(list) != 2 || list[0] != int64(1) || list[1] != 2.5 {
		t.Errorf("c = %#v, want [int64(1) 2.5]", list)
	}
	if got := Map(c, "d")["e"]; got != int64(10) {
		t.Errorf("d.e = %#v, want int64(10)", got)
	}
}

func TestNormalize(t *testing.T) {
	in := map[string]any{
		"i": 3, "i32": int32(4), "f32": float32(0.5), "whole": float64(6),
		"f": 1.25, "list": []any{7, "s", true, nil},
	}
	got := Normalize(in).(map[string]any)
	want := map[string]any{
		"i": int64(3), "i32": int64(4), "f32": 0.5, "whole": int64(6),
		"f": 1.25,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v (%T), want %#v (%T)", k, got[k], got[k], w, w)
		}
	}
	list := got["list"].([]any)
	if list[0] != int64(7) || list[1] != "s" || list[2] != true || list[3] != nil {
		t.Errorf("list = %#v", list)
	}
}

func TestDecodeInputForms(t *testing.T) {
	long := strings.Repeat("x", 65<<20) // longer than the line buffer Decode once had
	if testing.Short() {
		long = long[:1<<20]
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"byte order mark", "\xEF\xBB\xBF---\napiVersion: v1\nkind: Namespace\nmetadata: {name: bom}\n", []string{"2 Namespace bom"}},
		{"no final newline", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}", []string{"1 Namespace a"}},
		{"CR LF separators", "apiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: b}", []string{"1 Namespace a", "5 Namespace b"}},
		{"very long line", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: " + long + "}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: after}\n", []string{"1 ConfigMap big", "6 Namespace after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := Decode([]byte(tt.in), "in.yaml")
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := located(objs); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("objects:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecodeManyDocumentsKeepsOrder(t *testing.T) {
	// Enough documents for Decode to work in parallel: objects and errors
	// still come out in input order with their own lines.
	var in strings.Builder
	var want []string
	var wantErrLines []int
	line := 1
	for i := 0; i < 300; i++ {
		if i > 0 {
			in.WriteString("---\n")
			line++
		}
		switch i % 7 {
		case 3:
			in.WriteString("kind: [\n")
			wantErrLines = append(wantErrLines, line)
			line++
		default:
			fmt.Fprintf(&in, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
			want = append(want, fmt.Sprintf("%d ConfigMap cm-%d", line, i))
			line += 4
		}
	}
	objs, errs := Decode([]byte(in.String()), "many.yaml")
	if got := located(objs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects differ: got %d, want %d; first got %q", len(got), len(want), got[:min(3, len(got))])
	}
	if len(errs) != len(wantErrLines) {
		t.Fatalf("got %d errors, want %d", len(errs), len(wantErrLines))
	}
	for i, e := range errs {
		if e.Line != wantErrLines[i] {
			t.Errorf("error %d at line %d, want %d", i, e.Line, wantErrLines[i])
		}
	}
}

// TestTypedListItems checks that the items of a typed list (as the API
// server returns them: no kind or apiVersion on the items) take the kind
// and apiVersion of their list, and that a plain List still needs both.
func TestTypedListItems(t *testing.T) {
	const podList = `apiVersion: v1
kind: PodList
items:
  - metadata: {name: a, namespace: shop}
    spec: {containers: [{name: c, image: x}]}
  - metadata: {name: b, namespace: shop}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: apps/v1
kind: DeploymentList
items:
  - metadata: {name: web}
    spec: {template: {spec: {containers: [{name: c, image: x}]}}}
---
apiVersion: v1
kind: List
items:
  - metadata: {name: nokind}
`
	objs, errs := Decode([]byte(podList), "list.yaml")
	if len(objs) != 3 {
		t.Fatalf("got %d objects, want 3", len(objs))
	}
	for i, want := range []string{"v1/Pod/a", "v1/Pod/b", "apps/v1/Deployment/web"} {
		if got := objs[i].APIVersion() + "/" + objs[i].Kind() + "/" + objs[i].Name(); got != want {
			t.Errorf("object %d: got %s, want %s", i, got, want)
		}
	}
	if objs[0].Source.Line != 4 || objs[2].Source.Line != 12 {
		t.Errorf("lines %d and %d, want 4 and 12", objs[0].Source.Line, objs[2].Source.Line)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "items[0]") {
		t.Errorf("a kind: List item without kind: errors %v, want one naming items[0]", errs)
	}
}
