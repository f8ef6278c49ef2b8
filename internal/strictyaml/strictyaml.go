// Package strictyaml checks a YAML configuration file against the Go type
// it decodes into, before it is decoded: unknown fields (with a "did you
// mean" suggestion), lists where a mapping belongs, a word where a number
// belongs. Every problem names the file, the line and the field's path
// (rules[0].action), so that a user can find and fix it. The admission
// webhook's configuration and .kordon.yaml share it.
package strictyaml

import (
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/kordon-dev/kordon/internal/textmatch"
)

// Problem is one configuration problem, or a warning, at a position of a
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

// ScalarChecker is implemented by types written as one YAML scalar that
// check its text themselves (a duration, say); CheckScalar returns "" when
// the text is valid, else what is wanted.
type ScalarChecker interface {
	CheckScalar(text string) string
}

// Positions gives the line of each field path of a checked document.
type Positions struct {
	lines map[string]int
}

// Line returns the line of field, or of its nearest parent the document
// has; 0 when none.
func (p *Positions) Line(field string) int {
	if p == nil {
		return 0
	}
	for field != "" {
		if l, ok := p.lines[field]; ok {
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

// Check parses data as one YAML document and checks it against t, the Go
// type it is to be decoded into with encoding/json field names (as
// sigs.k8s.io/yaml decodes). It returns the positions of the fields and
// the problems found, ordered by line; a syntax error is the only problem
// then. Values of interface type and of types with their own JSON or text
// decoding are not checked (a ScalarChecker checks its scalar).
func Check(data []byte, t reflect.Type) (*Positions, []Problem) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		line := yamlErrorLine(err)
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))
		return &Positions{}, []Problem{{Line: line, Message: msg}}
	}
	w := &walker{lines: map[string]int{}}
	if root := documentRoot(&doc); root != nil {
		w.walk(root, t, "")
	}
	pos := &Positions{lines: w.lines}
	Locate("", pos, w.problems)
	return pos, w.problems
}

// Locate sets the file of problems, and the line of those without one from
// their field's position, and orders them by line (keeping the order of
// those on one line).
func Locate(file string, pos *Positions, ps []Problem) {
	for i := range ps {
		if file != "" {
			ps[i].File = file
		}
		if ps[i].Line == 0 {
			ps[i].Line = pos.Line(ps[i].Field)
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
}

func documentRoot(doc *yamlv3.Node) *yamlv3.Node {
	if doc.Kind == 0 {
		return nil // no document at all
	}
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

// walker checks a YAML node tree against Go types and records the line of
// every field path.
type walker struct {
	lines    map[string]int
	problems []Problem
	// visits counts nodes walked: aliases are walked where they are used,
	// so a small document of nested aliases (a "billion laughs") would
	// otherwise take forever.
	visits int
}

// Bounds of one check: the nodes walked, aliases expanded (a file of
// MaxSize has far fewer), and the problems reported (the rest are
// counted in a last one).
const (
	maxVisits   = 1 << 18
	maxProblems = 100
)

func (w *walker) bad(n *yamlv3.Node, field, format string, args ...any) {
	switch {
	case len(w.problems) < maxProblems:
		w.problems = append(w.problems, Problem{Line: n.Line, Field: field, Message: fmt.Sprintf(format, args...)})
	case len(w.problems) == maxProblems:
		w.problems = append(w.problems, Problem{Line: n.Line, Message: "more problems; fix these first"})
	}
}

var (
	scalarCheckerType = reflect.TypeFor[ScalarChecker]()
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	textType          = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (w *walker) walk(n *yamlv3.Node, t reflect.Type, field string) {
	if w.visits++; w.visits > maxVisits {
		if w.visits == maxVisits+1 {
			w.problems = append(w.problems, Problem{Line: n.Line, Field: field,
				Message: fmt.Sprintf("the document is too complex (more than %d values with aliases expanded)", maxVisits)})
		}
		return
	}
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
	switch pt := reflect.PointerTo(t); {
	case pt.Implements(scalarCheckerType):
		if n.Kind != yamlv3.ScalarNode {
			w.bad(n, field, "want a single value, got %s", describe(n))
		} else if msg := reflect.New(t).Interface().(ScalarChecker).CheckScalar(n.Value); msg != "" {
			w.bad(n, field, "%s", msg)
		}
		return
	case pt.Implements(unmarshalerType) || pt.Implements(textType):
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
				if s := textmatch.Closest(k.Value, mapKeys(fields)); s != "" {
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
			kf := join(field, n.Content[i].Value)
			w.lines[kf] = n.Content[i].Line
			w.walk(n.Content[i+1], t.Elem(), kf)
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
