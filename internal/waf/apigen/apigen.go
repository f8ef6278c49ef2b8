// Package apigen generates HTTP requests from an OpenAPI specification,
// for tests and benchmarks of the API schema checks and the learner: valid
// requests and, from each, requests that break exactly one constraint. It
// reads the specification itself (independently of the validator under
// test) and knows the subset of JSON Schema that test specifications use:
// types, enum, numeric and length bounds, simple patterns, the uuid, date
// and date-time formats, required and closed objects, arrays with bounds.
// It panics on specifications outside that subset.
package apigen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/waf/apischema"
)

type Spec struct {
	root   map[string]any
	prefix string
}

// Parse reads a specification (YAML or JSON).
func Parse(data []byte) (*Spec, error) {
	var root map[string]any
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	s := &Spec{root: root}
	if servers, ok := root["servers"].([]any); ok && len(servers) > 0 {
		s.prefix = strings.TrimSuffix(servers[0].(map[string]any)["url"].(string), "/")
	}
	return s, nil
}

// resolve follows a local $ref.
func (s *Spec) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		var cur any = s.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		return s.resolve(cur)
	}
	return m
}

type param struct {
	name, in string
	required bool
	schema   map[string]any
}

// Operation is one method of one path.
type Operation struct {
	Method, Template string
	params           []param
	body             map[string]any // nil: no body
	bodyRequired     bool
}

// Operations lists the operations by path and method.
func (s *Spec) Operations() []Operation {
	var ops []Operation
	pathsMap := s.root["paths"].(map[string]any)
	templates := make([]string, 0, len(pathsMap))
	for p := range pathsMap {
		templates = append(templates, p)
	}
	sort.Strings(templates)
	for _, tmpl := range templates {
		item := pathsMap[tmpl].(map[string]any)
		shared := s.params(item["parameters"])
		for _, method := range []string{"get", "put", "post", "delete", "patch"} {
			raw, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			op := Operation{Method: strings.ToUpper(method), Template: tmpl, params: append(slices.Clone(shared), s.params(raw["parameters"])...)}
			if rb := s.resolve(raw["requestBody"]); rb != nil {
				op.bodyRequired, _ = rb["required"].(bool)
				op.body = s.resolve(rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
			}
			ops = append(ops, op)
		}
	}
	return ops
}

func (s *Spec) params(v any) []param {
	list, _ := v.([]any)
	var out []param
	for _, p := range list {
		m := s.resolve(p)
		req, _ := m["required"].(bool)
		out = append(out, param{name: m["name"].(string), in: m["in"].(string), required: req, schema: s.resolve(m["schema"])})
	}
	return out
}

// Request is a generated request and what is wrong with it.
type Request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
	ContentType  string
	// Broken names the one constraint broken; empty for a valid request.
	Broken string
	// Kind is the kind of violation the broken constraint is.
	Kind apischema.Kind
}

// HTTP returns the request (to http://api.example) and its body.
func (r Request) HTTP() (*http.Request, []byte) {
	u := r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequest(r.Method, "http://api.example"+u, bytes.NewReader(r.Body))
	if err != nil {
		panic(err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	return req, r.Body
}

// Generator makes requests of a specification.
type Generator struct {
	rng *rand.Rand
	s   *Spec
}

// NewGenerator returns a generator of requests of s, deterministic for a seed.
func NewGenerator(s *Spec, seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), s: s}
}

func (g *Generator) schemaType(sch map[string]any) string {
	switch t := sch["type"].(type) {
	case string:
		return t
	case []any:
		var nonNull []string
		for _, x := range t {
			if x != "null" {
				nonNull = append(nonNull, x.(string))
			}
		}
		return nonNull[g.rng.IntN(len(nonNull))]
	}
	if _, ok := sch["properties"]; ok {
		return "object"
	}
	return "string"
}

func num(v any, def float64) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return def
}

// valid makes a value the schema accepts.
func (g *Generator) valid(sch map[string]any) any {
	sch = g.s.resolve(sch)
	if enum, ok := sch["enum"].([]any); ok {
		return enum[g.rng.IntN(len(enum))]
	}
	switch g.schemaType(sch) {
	case "integer":
		lo, hi := int(num(sch["minimum"], -1000)), int(num(sch["maximum"], 100000))
		return lo + g.rng.IntN(hi-lo+1)
	case "number":
		lo, hi := num(sch["minimum"], -1e6), num(sch["maximum"], 1e6)
		return lo + g.rng.Float64()*(hi-lo)
	case "boolean":
		return g.rng.IntN(2) == 0
	case "array":
		lo, hi := int(num(sch["minItems"], 0)), int(num(sch["maxItems"], 4))
		n := lo + g.rng.IntN(hi-lo+1)
		out := make([]any, n)
		for i := range out {
			out[i] = g.valid(sch["items"].(map[string]any))
		}
		return out
	case "object":
		out := map[string]any{}
		req := map[string]bool{}
		for _, r := range asList(sch["required"]) {
			req[r.(string)] = true
		}
		props, _ := sch["properties"].(map[string]any)
		for _, name := range sortedKeys(props) {
			if req[name] || g.rng.IntN(2) == 0 {
				out[name] = g.valid(props[name].(map[string]any))
			}
		}
		return out
	}
	return g.validString(sch)
}

func (g *Generator) validString(sch map[string]any) string {
	switch sch["format"] {
	case "uuid":
		return g.uuid()
	case "date":
		return fmt.Sprintf("20%02d-%02d-%02d", g.rng.IntN(30), 1+g.rng.IntN(12), 1+g.rng.IntN(28))
	case "date-time":
		return fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", g.rng.IntN(30), 1+g.rng.IntN(12), 1+g.rng.IntN(28), g.rng.IntN(24), g.rng.IntN(60), g.rng.IntN(60))
	}
	if p, ok := sch["pattern"].(string); ok {
		return g.fromPattern(p)
	}
	lo, hi := int(num(sch["minLength"], 0)), int(num(sch["maxLength"], 20))
	n := lo + g.rng.IntN(hi-lo+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz ABC-_0123"[g.rng.IntN(36)]
	}
	return string(b)
}

func (g *Generator) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// fromPattern makes a string matching a simple regular expression
// (literals, classes, repetitions, anchors).
func (g *Generator) fromPattern(p string) string {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		panic(err)
	}
	var sb strings.Builder
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			sb.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			i := 2 * g.rng.IntN(len(re.Rune)/2)
			lo, hi := re.Rune[i], re.Rune[i+1]
			sb.WriteRune(lo + rune(g.rng.IntN(int(hi-lo)+1)))
		case syntax.OpRepeat:
			for range re.Min + g.rng.IntN(max(re.Max, re.Min)-re.Min+1) {
				walk(re.Sub[0])
			}
		case syntax.OpConcat, syntax.OpCapture:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		default:
			panic(fmt.Sprintf("pattern %q: %v not supported by the test generator", p, re.Op))
		}
	}
	walk(re.Simplify())
	return sb.String()
}

func asList(v any) []any { l, _ := v.([]any); return l }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func paramText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	panic(fmt.Sprintf("parameter value %T", v))
}

// ValidRequest makes one valid request of the operation.
func (g *Generator) ValidRequest(op Operation) Request {
	r := Request{Method: op.Method, Query: url.Values{}, Header: http.Header{}}
	path := op.Template
	for _, p := range op.params {
		if !p.required && g.rng.IntN(2) == 0 {
			continue
		}
		v := paramText(g.valid(p.schema))
		switch p.in {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.name+"}", url.PathEscape(v))
		case "query":
			r.Query.Set(p.name, v)
		case "header":
			r.Header.Set(p.name, v)
		}
	}
	r.Path = g.s.prefix + path
	if op.body != nil && (op.bodyRequired || g.rng.IntN(2) == 0) {
		r.Body, _ = json.Marshal(g.valid(op.body))
		r.ContentType = "application/json"
	}
	return r
}

// BrokenRequests makes, from a valid request, one request per constraint
// it can break.
func (g *Generator) BrokenRequests(op Operation) []Request {
	var out []Request
	add := func(broken string, kind apischema.Kind, edit func(r *Request)) {
		r := g.validRequestWithAll(op)
		edit(&r)
		r.Broken, r.Kind = broken, kind
		out = append(out, r)
	}
	for _, p := range op.params {
		for _, bad := range g.badScalars(p.schema) {
			add(fmt.Sprintf("%s parameter %s = %q (%s)", p.in, p.name, bad.value, bad.why), apischema.ParameterKind, func(r *Request) {
				g.setParam(r, op, p, bad.value)
			})
		}
		if p.required && p.in != "path" {
			add(fmt.Sprintf("required %s parameter %s missing", p.in, p.name), apischema.ParameterKind, func(r *Request) {
				r.Query.Del(p.name)
				r.Header.Del(p.name)
			})
		}
	}
	if op.body != nil {
		base := g.valid(op.body)
		for _, m := range g.badValues(op.body, base, "") {
			add("body "+m.why, apischema.BodyKind, func(r *Request) {
				r.Body, _ = json.Marshal(m.value)
				r.ContentType = "application/json"
			})
		}
		add("body that is not JSON", apischema.BodyKind, func(r *Request) {
			r.Body, r.ContentType = []byte(`{"name": "Rex",`), "application/json"
		})
		add("body of an undeclared content type", apischema.BodyKind, func(r *Request) {
			r.ContentType = "text/plain"
		})
		if op.bodyRequired {
			add("required body missing", apischema.BodyKind, func(r *Request) {
				r.Body, r.ContentType = nil, ""
			})
		}
	}
	return out
}

func (g *Generator) validRequestWithAll(op Operation) Request {
	for {
		r := g.ValidRequest(op)
		if len(r.Query)+len(r.Header) == countParams(op, "query", "header") && (op.body == nil || r.Body != nil) {
			return r
		}
	}
}

func countParams(op Operation, ins ...string) int {
	n := 0
	for _, p := range op.params {
		if slices.Contains(ins, p.in) {
			n++
		}
	}
	return n
}

func (g *Generator) setParam(r *Request, op Operation, p param, v string) {
	switch p.in {
	case "query":
		r.Query.Set(p.name, v)
	case "header":
		r.Header.Set(p.name, v)
	case "path":
		// Rebuild the path with the bad value in place of this parameter.
		path := op.Template
		for _, q := range op.params {
			if q.in != "path" {
				continue
			}
			val := v
			if q.name != p.name {
				val = paramText(g.valid(q.schema))
			}
			path = strings.ReplaceAll(path, "{"+q.name+"}", url.PathEscape(val))
		}
		r.Path = g.s.prefix + path
	}
}

type bad struct {
	value string
	why   string
}

// badScalars lists texts a parameter schema rejects.
func (g *Generator) badScalars(sch map[string]any) []bad {
	var out []bad
	if _, ok := sch["enum"]; ok {
		return []bad{{"zebra", "not in enum"}}
	}
	switch sch["type"] {
	case "integer":
		out = append(out, bad{"abc", "not an integer"}, bad{"1.5", "not an integer"})
		if m, ok := sch["minimum"]; ok {
			out = append(out, bad{strconv.Itoa(int(num(m, 0)) - 1), "below minimum"})
		}
		if m, ok := sch["maximum"]; ok {
			out = append(out, bad{strconv.Itoa(int(num(m, 0)) + 1), "above maximum"})
		}
	case "string":
		if sch["format"] == "uuid" {
			out = append(out, bad{"not-a-uuid", "not a uuid"}, bad{"1' OR '1'='1", "not a uuid"})
		}
	}
	return out
}

type badValue struct {
	value any
	why   string
}

// badValues lists copies of the valid value v that each break one
// constraint of sch, at any depth.
func (g *Generator) badValues(sch map[string]any, v any, at string) []badValue {
	sch = g.s.resolve(sch)
	var out []badValue
	if _, ok := sch["enum"]; ok {
		out = append(out, badValue{"zebra", at + " not in enum"})
	}
	switch g.schemaType(sch) {
	case "integer":
		out = append(out, badValue{"7", at + " a string, not an integer"}, badValue{1.5, at + " not an integer"})
		if m, ok := sch["minimum"]; ok {
			out = append(out, badValue{int(num(m, 0)) - 1, at + " below minimum"})
		}
	case "number":
		if m, ok := sch["maximum"]; ok {
			out = append(out, badValue{num(m, 0) + 0.5, at + " above maximum"})
		}
		out = append(out, badValue{true, at + " a boolean, not a number"})
	case "boolean":
		out = append(out, badValue{"yes", at + " a string, not a boolean"})
	case "string":
		if _, isEnum := sch["enum"]; isEnum {
			break
		}
		out = append(out, badValue{42, at + " a number, not a string"})
		if m, ok := sch["maxLength"]; ok {
			out = append(out, badValue{strings.Repeat("x", int(num(m, 0))+1), at + " longer than maxLength"})
		}
		if m, ok := sch["minLength"]; ok && num(m, 0) > 0 {
			out = append(out, badValue{"", at + " shorter than minLength"})
		}
		switch sch["format"] {
		case "date-time":
			out = append(out, badValue{"next tuesday", at + " not a date-time"})
		case "date":
			out = append(out, badValue{"2024-13-45", at + " not a date"})
		}
		if _, ok := sch["pattern"]; ok {
			out = append(out, badValue{"12ab", at + " does not match pattern"})
		}
	case "array":
		items := sch["items"].(map[string]any)
		if m, ok := sch["maxItems"]; ok {
			long := make([]any, int(num(m, 0))+1)
			for i := range long {
				long[i] = g.valid(items)
			}
			out = append(out, badValue{long, at + " more items than maxItems"})
		}
		if m, ok := sch["minItems"]; ok && num(m, 0) > 0 {
			out = append(out, badValue{[]any{}, at + " fewer items than minItems"})
		}
		out = append(out, badValue{map[string]any{}, at + " an object, not an array"})
		list := v.([]any)
		if len(list) > 0 {
			for _, b := range g.badValues(items, list[0], at+"[0]") {
				cp := slices.Clone(list)
				cp[0] = b.value
				out = append(out, badValue{cp, b.why})
			}
		}
	case "object":
		obj := v.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		for _, r := range asList(sch["required"]) {
			cp := cloneMap(obj)
			delete(cp, r.(string))
			out = append(out, badValue{cp, at + "." + r.(string) + " (required) missing"})
		}
		if sch["additionalProperties"] == false {
			cp := cloneMap(obj)
			cp["isAdmin"] = true
			out = append(out, badValue{cp, at + ".isAdmin not declared"})
		}
		out = append(out, badValue{[]any{obj}, at + " an array, not an object"})
		for _, name := range sortedKeys(props) {
			val, ok := obj[name]
			if !ok {
				val = g.valid(props[name].(map[string]any))
			}
			for _, b := range g.badValues(props[name].(map[string]any), val, at+"."+name) {
				cp := cloneMap(obj)
				cp[name] = b.value
				out = append(out, badValue{cp, b.why})
			}
		}
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	return cp
}
