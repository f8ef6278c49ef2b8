package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"

	yamlv3 "go.yaml.in/yaml/v3"
)

// InputError is a problem with one part of the input: a document that does
// not parse, or one that is not a Kubernetes object. The rest of the input is
// still loaded.
type InputError struct {
	File string
	Line int // 1-based; 0 when unknown
	Err  error
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// ErrNotObject marks a document that is valid YAML but not a Kubernetes
// object: a mapping with neither apiVersion nor kind (a Helm values file, a
// CI workflow) or a top-level list or scalar. Such documents are reported as
// warnings, not errors.
var ErrNotObject = errors.New("not a Kubernetes object; skipped")

// Decode reads a stream of YAML or JSON documents (separated by "---"),
// expands kind: List into its items and returns the objects in order. Each
// bad document yields an *InputError naming file and line; the others are
// still returned.
//
// Documents are decoded in parallel (GOMAXPROCS workers) when there are
// many; the result is the same as decoding them one by one.
func Decode(data []byte, file string) ([]*Object, []*InputError) {
	docs := splitDocuments(data)
	type decoded struct {
		objs []*Object
		errs []*InputError
	}
	results := make([]decoded, len(docs))
	workers := runtime.GOMAXPROCS(0)
	if len(docs) < 64 || workers < 2 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				results[i].objs, results[i].errs = decodeDocument(docs[i], file)
			}
		}()
	}
	wg.Wait()
	var objs []*Object
	var errs []*InputError
	for _, r := range results {
		objs = append(objs, r.objs...)
		errs = append(errs, r.errs...)
	}
	return objs, errs
}

type document struct {
	text      []byte
	startLine int // 1-based line of the first line of text in the file
}

var separator = regexp.MustCompile(`^---(\s|#|$)`)

// documentEnd is YAML's "..." line. It stays in the document: YAML readers,
// kubectl's too, ignore what follows it up to the next "---", so it must
// not be read as part of the object.
var documentEnd = regexp.MustCompile(`^\.\.\.(\s|#|$)`)

// utf8BOM is the byte order mark some Windows editors put first in a file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// splitDocuments cuts a YAML stream at "---" lines, remembering where each
// document starts. A JSON file is a single YAML document. Lines may end in
// "\n" or "\r\n" and be of any length.
func splitDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start := 1
	line := 0
	flush := func(next int) {
		docs = append(docs, document{text: append([]byte(nil), cur.Bytes()...), startLine: start})
		cur.Reset()
		start = next
	}
	rest := bytes.TrimPrefix(data, utf8BOM)
	for len(rest) > 0 {
		line++
		text := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		if separator.Match(text) {
			// "--- {a: b}" or "--- |" starts the next document on the
			// separator line itself; keep that content, padded so that
			// columns stay right.
			rest := bytes.TrimSpace(text[3:])
			if len(rest) == 0 || rest[0] == '#' {
				flush(line + 1)
				continue
			}
			flush(line)
			cur.WriteString("   ")
			cur.Write(text[3:])
			cur.WriteByte('\n')
			continue
		}
		cur.Write(text)
		cur.WriteByte('\n')
	}
	flush(line + 1)
	return docs
}

// decodeDocument decodes one YAML document into objects (more than one for
// kind: List).
func decodeDocument(doc document, file string) ([]*Object, []*InputError) {
	first := firstContentLine(doc.text)
	if first < 0 {
		return nil, nil // empty or comments only
	}
	objLine := doc.startLine + first
	v, err := decodeYAML(doc.text, doc.startLine)
	if err != nil {
		line := objLine
		var yerr *yamlError
		if errors.As(err, &yerr) && yerr.line > 0 {
			line = yerr.line
		}
		return nil, []*InputError{{File: file, Line: line, Err: err}}
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		// A top-level list or scalar (an Ansible playbook, a plain string)
		// is some other kind of YAML file, not a broken manifest.
		return nil, []*InputError{{File: file, Line: objLine, Err: fmt.Errorf("document is a %s: %w", typeName(v), ErrNotObject)}}
	}
	if err := checkTypeMeta(m); err != nil {
		return nil, []*InputError{{File: file, Line: objLine, Err: err}}
	}
	obj := &Object{Content: m, Source: Source{File: file, Line: objLine}}
	if !isList(obj) {
		return []*Object{obj}, nil
	}
	return expandList(obj, doc, file)
}

// isList reports whether the object is a kind: List (or any *List kind
// with items), as kubectl get -o yaml prints.
func isList(o *Object) bool {
	kind := o.Kind()
	if kind != "List" && !strings.HasSuffix(kind, "List") {
		return false
	}
	_, ok := o.Content["items"].([]any)
	return ok
}

func expandList(list *Object, doc document, file string) ([]*Object, []*InputError) {
	items := Slice(list.Content, "items")
	lines := listItemLines(doc)
	var objs []*Object
	var errs []*InputError
	for i, it := range items {
		line := list.Source.Line
		if i < len(lines) {
			line = lines[i]
		}
		m, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, &InputError{File: file, Line: line, Err: fmt.Errorf("items[%d] is a %s, not a Kubernetes object", i, typeName(it))})
			continue
		}
		typedItem(list, m)
		if err := checkTypeMeta(m); err != nil {
			// Every item of a List must be an object: a bad item is an
			// error, never a skipped non-object.
			if errors.Is(err, ErrNotObject) {
				err = errors.New("missing fields apiVersion and kind")
			}
			errs = append(errs, &InputError{File: file, Line: line, Err: fmt.Errorf("items[%d]: %w", i, err)})
			continue
		}
		objs = append(objs, &Object{Content: m, Source: Source{File: file, Line: line}})
	}
	return objs, errs
}

// typedItem gives an item of a typed list (PodList, NamespaceList, as the
// API server and kubectl get -o yaml return them) the kind and apiVersion
// its list implies when the item carries none.
func typedItem(list *Object, item map[string]any) {
	kind := list.Kind()
	if kind == "List" {
		return
	}
	if _, ok := item["kind"]; !ok {
		item["kind"] = strings.TrimSuffix(kind, "List")
	}
	if _, ok := item["apiVersion"]; !ok {
		if v := list.APIVersion(); v != "" {
			item["apiVersion"] = v
		}
	}
}

// listItemLines returns the file line of each element of a List's items.
func listItemLines(doc document) []int {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc.text, &root); err != nil || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	if top.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "items" {
			continue
		}
		var lines []int
		for _, item := range top.Content[i+1].Content {
			lines = append(lines, doc.startLine+item.Line-1)
		}
		return lines
	}
	return nil
}

func checkTypeMeta(m map[string]any) error {
	_, hasAV := m["apiVersion"]
	_, hasKind := m["kind"]
	switch {
	case !hasAV && !hasKind:
		return fmt.Errorf("no apiVersion or kind: %w", ErrNotObject)
	case !hasKind:
		return errors.New("missing field kind")
	case !hasAV:
		return errors.New("missing field apiVersion")
	}
	if s, ok := m["apiVersion"].(string); !ok || s == "" {
		return errors.New("field apiVersion must be a non-empty string")
	}
	if s, ok := m["kind"].(string); !ok || s == "" {
		return errors.New("field kind must be a non-empty string")
	}
	if md, ok := m["metadata"]; ok {
		if _, isMap := md.(map[string]any); !isMap && md != nil {
			return errors.New("field metadata must be a mapping")
		}
	}
	return nil
}

// firstContentLine returns the 0-based index of the first line that is not
// blank, a comment, a directive or a document end ("..."), or -1 when there
// is none.
func firstContentLine(text []byte) int {
	for i, l := range bytes.Split(text, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if bytes.HasPrefix(t, []byte("%")) { // YAML directive
			continue
		}
		if documentEnd.Match(l) { // nothing before it: an empty document
			continue
		}
		return i
	}
	return -1
}

// decodeJSON decodes JSON keeping whole numbers as int64.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return Normalize(v), nil
}

// Normalize puts a decoded value into the form objects have everywhere in
// Kordon, in place: numbers become int64 when whole and float64 otherwise,
// and map entries whose value is null are dropped, since the API server
// treats a null field as unset (Helm output such as `resources: null`, and
// lists the API server serializes as null, such as an aggregated
// ClusterRole's rules). Null list elements are kept. It is for values from
// any decoder: encoding/json, client-go, Helm.
func Normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = Normalize(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = Normalize(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case float32:
		return normalizeFloat(float64(t))
	case float64:
		return normalizeFloat(t)
	default:
		return v
	}
}

func normalizeFloat(f float64) any {
	if f == float64(int64(f)) && f < 1<<53 && f > -(1<<53) {
		return int64(f)
	}
	return f
}

func typeName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}
