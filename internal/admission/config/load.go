package config

import (
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Problem is one configuration problem, or a warning, at a position of the
// file.
type Problem struct {
	// File is the configuration file ("" when parsed from memory).
	File string
	// Line is the 1-based line of the field (0 when unknown).
	Line int
	// Field is the field's path: rules[0].action,
	// governance.creationRate.limits[1].limit.
	Field   string
	Message string
}

// String formats the problem as file:line: field: message.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem of a configuration, one per line.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates a configuration file. Problems (an *Error) and
// warnings name the file, the line and the field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admission config: %w", err)
	}
	return parse(path, data)
}

// Parse decodes and validates a configuration. Unknown fields, values of
// the wrong type and invalid settings are reported together, as an *Error
// whose problems carry their line and field path.
func Parse(data []byte) (*Config, error) { return parse("", data) }

func parse(file string, data []byte) (*Config, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Problems: []Problem{{File: file, Line: yamlErrorLine(err), Message: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	w := &walker{lines: map[string]int{}}
	if root := documentRoot(&doc); root != nil {
		w.walk(root, reflect.TypeFor[Config](), "")
	}
	c := &Config{}
	if err := yaml.Unmarshal(data, c); err != nil && len(w.problems) == 0 {
		// The walker knows every field and type it checks; anything else
		// the decoder refuses is reported as it says.
		w.problems = append(w.problems, Problem{Message: err.Error()})
	} else if err == nil {
		v := &validator{}
		c.validate(v)
		w.problems = append(w.problems, v.problems...)
		c.Warnings = v.warnings
	}
	locate := func(ps []Problem) {
		for i := range ps {
			ps[i].File = file
			if ps[i].Line == 0 {
				ps[i].Line = w.line(ps[i].Field)
			}
		}
		sortProblems(ps)
	}
	locate(c.Warnings)
	if len(w.problems) > 0 {
		locate(w.problems)
		return nil, &Error{Problems: w.problems}
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = DefaultTimeout
	}
	return c, nil
}

// sortProblems orders problems by line, keeping the order of those on one line.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
}

func documentRoot(doc *yamlv3.Node) *yamlv3.Node {
	if doc.Kind == yamlv3.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return doc.Content[0]
	}
	return doc
}

// yamlErrorLine extracts the line of a YAML syntax error ("yaml: line 3: ...").
func yamlErrorLine(err error) int {
	var te *yamlv3.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	_, rest, ok := strings.Cut(msg, "line ")
	if !ok {
		return 0
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, _ := strconv.Atoi(rest[:end])
	return n
}

// walker checks a YAML node tree against the configuration's Go types —
// unknown fields, lists where a mapping belongs, a word where a number
// belongs, durations — and records the line of every field path.
type walker struct {
	lines    map[string]int
	problems []Problem
}

// line returns the line of field, or of its nearest parent the file has.
func (w *walker) line(field string) int {
	for field != "" {
		if l, ok := w.lines[field]; ok {
			return l
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

func (w *walker) bad(n *yamlv3.Node, field, format string, args ...any) {
	w.problems = append(w.problems, Problem{Line: n.Line, Field: field, Message: fmt.Sprintf(format, args...)})
}

var (
	durationType    = reflect.TypeFor[Duration]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (w *walker) walk(n *yamlv3.Node, t reflect.Type, field string) {
	if n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if field != "" {
		if _, seen := w.lines[field]; !seen {
			w.lines[field] = n.Line
		}
	}
	if n.Kind == yamlv3.ScalarNode && n.Tag == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		if n.Kind != yamlv3.ScalarNode {
			w.bad(n, field, "want a duration such as 500ms, 30s or 1h")
		} else if _, err := time.ParseDuration(n.Value); err != nil {
			w.bad(n, field, "duration %q: want a value such as 500ms, 30s or 1h", n.Value)
		}
		return
	case reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType):
		return // decoded by its own code
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yamlv3.MappingNode {
			w.bad(n, field, "want a mapping (key: value), got %s", describe(n))
			return
		}
		fields := jsonFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kf := join(field, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown field %q", k.Value)
				if s := suggest(k.Value, mapKeys(fields)); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				w.bad(k, kf, "%s", msg)
				continue
			}
			w.lines[kf] = k.Line
			w.walk(v, ft, kf)
		}
	case reflect.Map:
		if n.Kind != yamlv3.MappingNode {
			w.bad(n, field, "want a mapping (key: value), got %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), join(field, n.Content[i].Value))
		}
	case reflect.Slice:
		if n.Kind != yamlv3.SequenceNode {
			w.bad(n, field, "want a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", field, i))
		}
	case reflect.String:
		if n.Kind != yamlv3.ScalarNode {
			w.bad(n, field, "want a string, got %s", describe(n))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if n.Kind != yamlv3.ScalarNode || n.Tag != "!!int" {
			w.bad(n, field, "want a whole number, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yamlv3.ScalarNode || n.Tag != "!!bool" {
			w.bad(n, field, "want true or false, got %s", describe(n))
		}
	}
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func describe(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "a mapping"
	case yamlv3.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// jsonFields returns the fields of a struct type by their JSON names,
// with the fields of embedded structs promoted as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func mapKeys(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
