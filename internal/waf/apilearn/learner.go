package apilearn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

// Options tune a Learner. Zero values take the defaults.
type Options struct {
	// BasePath is the path the API is served under ("/api/v1"): it
	// becomes the server URL, routes are learned below it and requests
	// outside it are not learned.
	BasePath string
	// MaxRoutes bounds the routes learned (default 2,000); requests for
	// new routes beyond it are counted as not learned.
	MaxRoutes int
	// MaxLiterals is how many distinct names one path position may take
	// before it is taken for a parameter (default 20): /tags/go,
	// /tags/rust… become /tags/{tag}.
	MaxLiterals int
	// MaxBody is the largest body described (default 1 MiB); larger ones
	// are counted but not described.
	MaxBody int
	// Title is the draft's info.title (default "Learned API").
	Title string
}

// Stats counts what a Learner did with the samples.
type Stats struct {
	Requests int `json:"requests"`
	Learned  int `json:"learned"`
	// NotLearned counts requests outside BasePath, with a method OpenAPI
	// lacks, or for new routes beyond MaxRoutes, by reason.
	NotLearned map[string]int `json:"not_learned,omitempty"`
	// BodiesNotDescribed counts bodies that are not valid JSON or forms
	// of their declared type, or larger than MaxBody.
	BodiesNotDescribed int `json:"bodies_not_described,omitempty"`
	Routes             int `json:"routes"`
	Operations         int `json:"operations"`
}

// Learner accumulates samples and drafts a specification.
type Learner struct {
	opts        Options
	root        *node
	stats       Stats
	first, last time.Time
}

// New returns an empty Learner.
func New(opts Options) *Learner {
	if opts.MaxRoutes <= 0 {
		opts.MaxRoutes = 2000
	}
	if opts.MaxLiterals <= 0 {
		opts.MaxLiterals = 20
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Title == "" {
		opts.Title = "Learned API"
	}
	opts.BasePath = strings.TrimSuffix(opts.BasePath, "/")
	return &Learner{opts: opts, root: &node{}, stats: Stats{NotLearned: map[string]int{}}}
}

// methods are the operations OpenAPI describes, by HTTP method.
var methods = map[string]string{
	http.MethodGet: "get", http.MethodPut: "put", http.MethodPost: "post", http.MethodDelete: "delete",
	http.MethodOptions: "options", http.MethodHead: "head", http.MethodPatch: "patch", http.MethodTrace: "trace",
}

// Add learns from one sample.
func (l *Learner) Add(s traffic.Record) {
	l.stats.Requests++
	if _, ok := methods[s.Method]; !ok {
		l.stats.NotLearned["method that OpenAPI does not describe"]++
		return
	}
	path := s.URL.EscapedPath()
	if l.opts.BasePath != "" {
		if path != l.opts.BasePath && !strings.HasPrefix(path, l.opts.BasePath+"/") {
			l.stats.NotLearned["outside the base path"]++
			return
		}
		path = strings.TrimPrefix(path, l.opts.BasePath)
	}
	var segs []string
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		segs = append(segs, seg)
	}
	op := l.root.operation(segs, s.Method, l)
	if op == nil {
		l.stats.NotLearned["new route beyond the route limit"]++
		return
	}
	l.stats.Learned++
	if !s.Time.IsZero() {
		if l.first.IsZero() || s.Time.Before(l.first) {
			l.first = s.Time
		}
		if s.Time.After(l.last) {
			l.last = s.Time
		}
	}
	op.add(s, l)
}

// Stats returns the counts so far.
func (l *Learner) Stats() Stats {
	st := l.stats
	st.Routes, st.Operations = l.root.count()
	return st
}

// YAML writes the draft specification.
func (l *Learner) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(l.document()); err != nil {
		return nil, fmt.Errorf("write the draft: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (l *Learner) document() omap {
	var doc, info omap
	doc.set("openapi", "3.1.0")
	info.set("title", l.opts.Title)
	info.set("version", "draft")
	desc := fmt.Sprintf("Drafted by kordon waf learn from %d requests", l.stats.Learned)
	if !l.first.IsZero() {
		desc += fmt.Sprintf(" made between %s and %s", l.first.UTC().Format(time.RFC3339), l.last.UTC().Format(time.RFC3339))
	}
	desc += ". Review it before enforcing it: every route, parameter and field clients did not use is absent, and objects are closed."
	info.set("description", desc)
	doc.set("info", info)
	if l.opts.BasePath != "" {
		doc.set("servers", []omap{{{"url", l.opts.BasePath}}})
	}
	paths := omap{}
	schemes := map[string]bool{}
	l.root.emit(nil, nil, &paths, schemes)
	doc.set("paths", paths)
	if len(schemes) > 0 {
		var sec omap
		if schemes["basic"] {
			sec.set("basicAuth", omap{{"type", "http"}, {"scheme", "basic"}})
		}
		if schemes["bearer"] {
			sec.set("bearerAuth", omap{{"type", "http"}, {"scheme", "bearer"}})
		}
		doc.set("components", omap{{"securitySchemes", sec}})
	}
	return doc
}

// node is one position of the path trie.
type node struct {
	literals map[string]*node
	param    *node
	// values are the segments seen where this node is a parameter.
	values valueStats
	// variable is set once the position took more than MaxLiterals names:
	// every segment goes to param.
	variable bool
	ops      map[string]*opStats
}

// operation finds or makes the statistics of the operation for segs.
// It returns nil when that would make a route beyond the limit.
func (n *node) operation(segs []string, method string, l *Learner) *opStats {
	cur := n
	for _, seg := range segs {
		if cur.variable || looksLikeID(seg) {
			if cur.param == nil {
				cur.param = &node{}
			}
			cur.param.values.add(seg)
			cur = cur.param
			continue
		}
		next, ok := cur.literals[seg]
		if !ok {
			if cur.literals == nil {
				cur.literals = map[string]*node{}
			}
			next = &node{}
			cur.literals[seg] = next
			if len(cur.literals) > l.opts.MaxLiterals {
				cur.collapse()
				cur.param.values.add(seg)
				next = cur.param
			}
		}
		cur = next
	}
	op, ok := cur.ops[method]
	if !ok {
		if routes, _ := l.root.count(); routes >= l.opts.MaxRoutes && len(cur.ops) == 0 {
			return nil
		}
		if cur.ops == nil {
			cur.ops = map[string]*opStats{}
		}
		op = newOpStats()
		cur.ops[method] = op
	}
	return op
}

// collapse turns the literal children of n into one parameter.
func (n *node) collapse() {
	if n.param == nil {
		n.param = &node{}
	}
	names := make([]string, 0, len(n.literals))
	for name := range n.literals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		child := n.literals[name]
		n.param.values.add(name)
		n.param.merge(child)
	}
	n.literals, n.variable = nil, true
}

func (n *node) merge(o *node) {
	n.values.merge(&o.values)
	if o.variable && !n.variable {
		n.collapse()
	}
	for name, c := range o.literals {
		switch {
		case n.variable:
			if n.param == nil {
				n.param = &node{}
			}
			n.param.values.add(name)
			n.param.merge(c)
		case n.literals[name] != nil:
			n.literals[name].merge(c)
		default:
			if n.literals == nil {
				n.literals = map[string]*node{}
			}
			n.literals[name] = c
		}
	}
	if o.param != nil {
		if n.param == nil {
			n.param = &node{}
		}
		n.param.merge(o.param)
	}
	for m, op := range o.ops {
		if n.ops == nil {
			n.ops = map[string]*opStats{}
		}
		if mine, ok := n.ops[m]; ok {
			mine.merge(op)
		} else {
			n.ops[m] = op
		}
	}
}

// count returns the number of routes (nodes with operations) and
// operations below n.
func (n *node) count() (routes, ops int) {
	if len(n.ops) > 0 {
		routes, ops = 1, len(n.ops)
	}
	for _, c := range n.literals {
		r, o := c.count()
		routes, ops = routes+r, ops+o
	}
	if n.param != nil {
		r, o := n.param.count()
		routes, ops = routes+r, ops+o
	}
	return routes, ops
}

// pathParam is a parameter of a route being written.
type pathParam struct {
	name   string
	values *valueStats
}

// emit writes the routes below n; segs are the segments of the path to
// n, params its parameters so far.
func (n *node) emit(segs []string, params []pathParam, paths *omap, schemes map[string]bool) {
	if len(n.ops) > 0 {
		paths.set("/"+strings.Join(segs, "/"), n.pathItem(params, schemes))
	}
	names := make([]string, 0, len(n.literals))
	for name := range n.literals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		n.literals[name].emit(append(slices.Clone(segs), escapeSegment(name)), params, paths, schemes)
	}
	if n.param != nil {
		name := paramName(segs, params)
		n.param.emit(append(slices.Clone(segs), "{"+name+"}"), append(slices.Clone(params), pathParam{name, &n.param.values}), paths, schemes)
	}
}

// escapeSegment escapes what would break a path template.
func escapeSegment(s string) string {
	return strings.NewReplacer("{", "%7B", "}", "%7D").Replace(url.PathEscape(s))
}

// paramName names a path parameter after the segment before it:
// /users/{userId}, /categories/{categoryId}; "id" when there is none.
func paramName(segs []string, params []pathParam) string {
	base := "id"
	if len(segs) > 0 && !strings.HasPrefix(segs[len(segs)-1], "{") {
		base = camel(singular(segs[len(segs)-1])) + "Id"
	}
	name := base
	for i := 2; slices.ContainsFunc(params, func(p pathParam) bool { return p.name == name }); i++ {
		name = base + strconv.Itoa(i)
	}
	return name
}

func singular(w string) string {
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 3:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss"):
		return w
	case strings.HasSuffix(w, "s") && len(w) > 1:
		return w[:len(w)-1]
	}
	return w
}

// camel turns "order-items" or "order_items" into "orderItems"; other
// characters that a parameter name should not hold are dropped.
func camel(w string) string {
	var sb strings.Builder
	up := false
	for _, c := range w {
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			up = sb.Len() > 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && sb.Len() > 0:
			if up && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			sb.WriteRune(c)
			up = false
		}
	}
	if sb.Len() == 0 {
		return "item"
	}
	return sb.String()
}

func (n *node) pathItem(params []pathParam, schemes map[string]bool) omap {
	var item omap
	if len(params) > 0 {
		var list []omap
		for _, p := range params {
			list = append(list, omap{{"name", p.name}, {"in", "path"}, {"required", true}, {"schema", scalarSchema(p.values, p.name, false)}})
		}
		item.set("parameters", list)
	}
	for _, m := range []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"} {
		if op, ok := n.ops[m]; ok {
			item.set(methods[m], op.operation(schemes))
		}
	}
	return item
}

// scalarSchema describes parameter values: the most specific type all of
// them have.
func scalarSchema(v *valueStats, name string, enumOK bool) omap {
	switch {
	case v.only(kindInteger):
		return omap{{"type", "integer"}}
	case v.only(kindNumber):
		return omap{{"type", "number"}}
	case v.only(kindBoolean):
		return omap{{"type", "boolean"}}
	}
	return append(omap{{"type", "string"}}, stringRules(v, name, enumOK)...)
}

// decodeBody decodes a JSON or form body into what shape.add takes.
func decodeBody(mediaType string, body []byte) (any, bool) {
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			return nil, false
		}
		return v, true
	case mediaType == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, false
		}
		obj := make(map[string]any, len(vals))
		for k, v := range vals {
			obj[k] = v[0]
		}
		return obj, true
	}
	return nil, false
}

func mediaTypeOf(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return "application/octet-stream"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	return mt
}
