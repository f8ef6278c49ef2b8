package k8s

// Placing the problems of a YAML document on their lines. yaml.v2, which
// decodes a document as sigs.k8s.io/yaml does, returns maps without order or
// positions, names no line for some errors and the wrong one for others (a
// duplicate key's value, a parser error's previous line). When a document
// fails, it is parsed again with yaml.v3, which keeps positions, and the
// node tree is walked in the order yaml.v2 decodes it. This is the slow path,
// taken only for documents that fail; where the two parsers disagree, the
// error keeps yaml.v2's verdict and loses only its line.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// parseError turns an error of yaml.v2 into a *yamlError on the line of
// the problem.
func parseError(text []byte, firstLine int, err error) *yamlError {
	lines := newLineMap(text, firstLine)
	var te *yamlv2.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		// Strict decoding found duplicate keys; yaml.v2 names the line of
		// the value, not of the key.
		line, msg := splitYAMLLine(te.Errors[0])
		if e := locateDecodeError(text, lines, true, msg); e != nil {
			return e
		}
		return &yamlError{line: lines.yaml(line), msg: "invalid YAML: " + msg}
	}
	line, msg := splitYAMLLine(strings.TrimPrefix(err.Error(), "yaml: "))
	switch {
	case readerProblems[msg]:
		if off := firstBadChar(text); off >= 0 {
			return &yamlError{line: lines.offset(off), msg: "invalid YAML: " + badCharMessage(text[off:])}
		}
		return &yamlError{msg: "invalid YAML: " + msg}
	case line > 0 && parserProblems[msg]:
		// The parser's lines count from 0, the scanner's from 1.
		return &yamlError{line: lines.yaml(line + 1), msg: "invalid YAML: " + msg}
	case line > 0:
		return &yamlError{line: lines.yaml(line), msg: "invalid YAML: " + msg}
	case parserProblems[msg] || isScannerProblem(msg):
		// No line: the problem is on the first line.
		return &yamlError{line: lines.yaml(1), msg: "invalid YAML: " + msg}
	}
	// An error of yaml.v2's decoder, which names no line. The walk can
	// place some (an invalid key or merge, a bad tagged scalar), not all:
	// "unknown anchor", "document contains excessive aliasing".
	if strings.HasPrefix(msg, "invalid map key: ") || strings.HasPrefix(msg, "cannot decode ") ||
		msg == "map merge requires map or sequence of maps as the value" ||
		msg == "!!binary value contains invalid base64 data" {
		if e := locateDecodeError(text, lines, false, msg); e != nil {
			return e
		}
	}
	return &yamlError{msg: "invalid YAML: " + msg}
}

var yamlLinePrefix = regexp.MustCompile(`^line (\d+): `)

// splitYAMLLine splits "line N: problem" into N and the problem.
func splitYAMLLine(msg string) (int, string) {
	m := yamlLinePrefix.FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(m[1])
	return n, msg[len(m[0]):]
}

// The problems yaml.v2's reader, parser and scanner report (readerc.go,
// parserc.go, scannerc.go): the parser's "line N" is 0-based.
var (
	readerProblems = setOf(
		"invalid leading UTF-8 octet",
		"incomplete UTF-8 octet sequence",
		"invalid trailing UTF-8 octet",
		"invalid length of a UTF-8 sequence",
		"invalid Unicode character",
		"control characters are not allowed",
	)
	parserProblems = setOf(
		"did not find expected <stream-start>",
		"did not find expected <document start>",
		"did not find expected node content",
		"did not find expected key",
		"did not find expected '-' indicator",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive",
		"found undefined tag handle",
	)
	scannerProblems = setOf(
		"block sequence entries are not allowed in this context",
		"could not find expected ':'",
		"could not find expected directive name",
		"did not find URI escaped octet",
		"did not find expected '!'",
		"did not find expected alphabetic or numeric character",
		"did not find expected comment or line break",
		"did not find expected digit or '.' character",
		"did not find expected hexdecimal number",
		"did not find expected tag URI",
		"did not find expected version number",
		"did not find expected whitespace",
		"did not find expected whitespace or line break",
		"did not find the expected '>'",
		"found a tab character that violates indentation",
		"found a tab character where an indentation space is expected",
		"found an incorrect leading UTF-8 octet",
		"found an incorrect trailing UTF-8 octet",
		"found an indentation indicator equal to 0",
		"found character that cannot start any token",
		"found extremely long version number",
		"found invalid Unicode character escape code",
		"found unexpected document indicator",
		"found unexpected end of stream",
		"found unexpected non-alphabetical character",
		"found unknown directive name",
		"found unknown escape character",
		"mapping keys are not allowed in this context",
		"mapping values are not allowed in this context",
	)
)

func isScannerProblem(msg string) bool {
	return scannerProblems[msg] || strings.HasPrefix(msg, "exceeded max depth of ")
}

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, e := range s {
		m[e] = true
	}
	return m
}

// firstBadChar returns the offset of the first character yaml.v2's reader
// rejects: bytes that are not UTF-8, and characters outside YAML's
// printable set. It is -1 when there is none or the text is UTF-16.
func firstBadChar(text []byte) int {
	if bytes.HasPrefix(text, []byte{0xFF, 0xFE}) || bytes.HasPrefix(text, []byte{0xFE, 0xFF}) {
		return -1
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && size == 1 || !yamlPrintable(r) {
			return i
		}
		i += size
	}
	return -1
}

func yamlPrintable(r rune) bool {
	switch {
	case r == 0x09, r == 0x0A, r == 0x0D, r >= 0x20 && r <= 0x7E, r == 0x85:
		return true
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

func badCharMessage(b []byte) string {
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size == 1 {
		return fmt.Sprintf("byte 0x%02X is not valid UTF-8", b[0])
	}
	return fmt.Sprintf("control character %U is not allowed", r)
}

// lineMap turns lines of a document into file lines. yaml.v2 and yaml.v3
// count lines from 1 and take a lone "\r", NEL, LS and PS as line breaks
// too; file lines count "\n" only.
type lineMap struct {
	text   []byte
	first  int   // file line of the document's first line
	last   int   // file line of the document's last line
	starts []int // offset of each YAML line after the first; nil when YAML lines are "\n" lines
}

func newLineMap(text []byte, first int) *lineMap {
	m := &lineMap{text: text, first: first}
	n := bytes.Count(text, []byte("\n"))
	if len(text) > 0 && text[len(text)-1] != '\n' {
		n++
	}
	m.last = first + max(n, 1) - 1
	if bytes.IndexByte(text, '\r') < 0 && !bytes.Contains(text, []byte("\u0085")) &&
		!bytes.Contains(text, []byte("\u2028")) && !bytes.Contains(text, []byte("\u2029")) {
		return m
	}
	m.starts = []int{}
	for i := 0; i < len(text); {
		switch {
		case bytes.HasPrefix(text[i:], []byte("\r\n")):
			i += 2
		case text[i] == '\r' || text[i] == '\n':
			i++
		case bytes.HasPrefix(text[i:], []byte("\u0085")):
			i += 2
		case bytes.HasPrefix(text[i:], []byte("\u2028")), bytes.HasPrefix(text[i:], []byte("\u2029")):
			i += 3
		default:
			i++
			continue
		}
		m.starts = append(m.starts, i)
	}
	return m
}

// yaml returns the file line of a 1-based YAML line of the document, 0 for
// 0. A line past the end (an error at the end of the stream) is the
// document's last line.
func (m *lineMap) yaml(n int) int {
	switch {
	case n <= 0:
		return 0
	case m.starts == nil:
		return min(m.first+n-1, m.last)
	case n == 1:
		return m.first
	case n-2 < len(m.starts):
		return m.offset(m.starts[n-2])
	default:
		return m.last
	}
}

// offset returns the file line of a byte offset in the document.
func (m *lineMap) offset(off int) int {
	return min(m.first+bytes.Count(m.text[:off], []byte("\n")), m.last)
}

// line returns the file line of a yaml.v3 node.
func (m *lineMap) line(n *yamlv3.Node) int { return m.yaml(n.Line) }

// errWalk stops a walk where yaml.v3's tree does not match what yaml.v2
// decoded, or the walk grows too long.
var errWalk = errors.New("yaml.v3 tree does not match yaml.v2")

type walkAbort struct{}

// walker walks a yaml.v3 node tree in the order yaml.v2 decodes a document.
type walker struct {
	said    string // what yaml.v2 says of the problem a decoding walk found
	lines   *lineMap
	budget  int                   // nodes left to visit
	active  map[*yamlv3.Node]bool // anchored nodes being walked through an alias
	scalars map[*yamlv3.Node]scalar
}

type scalar struct {
	v   any
	err error
}

func newWalker(lines *lineMap) *walker {
	return &walker{lines: lines, budget: 1 << 22, active: map[*yamlv3.Node]bool{}, scalars: map[*yamlv3.Node]scalar{}}
}

// scalar is v2Scalar, once per node: aliases visit nodes again.
func (w *walker) scalar(n *yamlv3.Node) (any, error) {
	s, ok := w.scalars[n]
	if !ok {
		s.v, s.err = v2Scalar(n)
		w.scalars[n] = s
	}
	return s.v, s.err
}

func (w *walker) abort() { panic(walkAbort{}) }

func (w *walker) step() {
	w.budget--
	if w.budget < 0 {
		w.abort()
	}
}

// run calls f and turns an abort into (nil, errWalk).
func (w *walker) run(f func() *yamlError) (e *yamlError, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(walkAbort); !ok {
				panic(r)
			}
			e, err = nil, errWalk
		}
	}()
	return f(), nil
}

// parseNodes parses text with yaml.v3; nil when it fails or is empty.
func parseNodes(text []byte) *yamlv3.Node {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(text, &root); err != nil || root.Kind != yamlv3.DocumentNode || len(root.Content) != 1 {
		return nil
	}
	return root.Content[0]
}

// entry is one key/value pair of a mapping as yaml.v2 sets it.
type entry struct {
	key, value *yamlv3.Node
	merge      *yamlv3.Node // the "<<" key of this mapping that brought the pair in; nil when it is the mapping's own
	badMerge   bool         // key is a "<<" whose value cannot be merged
}

// line is the line on which the entry enters its mapping: its key's, or
// that of the "<<" that merged it.
func (e entry) line(lines *lineMap) int {
	if e.merge != nil {
		return lines.line(e.merge)
	}
	return lines.line(e.key)
}

// entries lists a mapping's pairs in the order yaml.v2 sets them, merges
// expanded in place (a sequence of merged maps from last to first). A merge
// yaml.v2 rejects ends the list with a badMerge entry.
func (w *walker) entries(n *yamlv3.Node, merge *yamlv3.Node, out []entry) ([]entry, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		w.step()
		k, v := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			out = append(out, entry{key: k, value: v, merge: merge})
			continue
		}
		via := merge
		if via == nil {
			via = k
		}
		ok := true
		switch v.Kind {
		case yamlv3.MappingNode:
			out, ok = w.entries(v, via, out)
		case yamlv3.AliasNode:
			if t := w.target(v); t.Kind == yamlv3.MappingNode {
				out, ok = w.enter(t, via, out)
			} else {
				ok = false
			}
		case yamlv3.SequenceNode:
			for j := len(v.Content) - 1; j >= 0 && ok; j-- {
				item := v.Content[j]
				switch {
				case item.Kind == yamlv3.MappingNode:
					out, ok = w.entries(item, via, out)
				case item.Kind == yamlv3.AliasNode && w.target(item).Kind == yamlv3.MappingNode:
					out, ok = w.enter(w.target(item), via, out)
				default:
					ok = false
				}
			}
		default:
			ok = false
		}
		if !ok {
			return append(out, entry{key: k, value: v, merge: merge, badMerge: true}), false
		}
	}
	return out, true
}

// enter lists the entries of an aliased mapping, refusing a cycle.
func (w *walker) enter(t, merge *yamlv3.Node, out []entry) ([]entry, bool) {
	if w.active[t] {
		w.abort()
	}
	w.active[t] = true
	defer delete(w.active, t)
	return w.entries(t, merge, out)
}

func (w *walker) target(alias *yamlv3.Node) *yamlv3.Node {
	if alias.Alias == nil || alias.Alias.Kind == yamlv3.AliasNode {
		w.abort()
	}
	return alias.Alias
}

// isMergeKey reports whether yaml.v2 takes a key as a merge: a plain "<<"
// or one tagged !!merge.
func isMergeKey(n *yamlv3.Node) bool {
	if n.Kind != yamlv3.ScalarNode || n.Value != "<<" {
		return false
	}
	if n.Style&yamlv3.TaggedStyle != 0 {
		return n.Tag == "!!merge"
	}
	return n.Style&quotedStyles == 0
}

const quotedStyles = yamlv3.DoubleQuotedStyle | yamlv3.SingleQuotedStyle | yamlv3.LiteralStyle | yamlv3.FoldedStyle

// v2Scalar returns what yaml.v2 decodes a scalar node to, or the error it
// stops with. Plain scalars and those with a YAML tag are decoded by
// yaml.v2 itself; errWalk means the node cannot be rebuilt for it.
func v2Scalar(n *yamlv3.Node) (any, error) {
	var doc string
	switch tagged := n.Style&yamlv3.TaggedStyle != 0; {
	case !tagged && n.Style&quotedStyles != 0:
		return n.Value, nil
	case !tagged:
		if strings.ContainsAny(n.Value, "\n\r\u0085\u2028\u2029") {
			return n.Value, nil // a folded plain scalar is never a number or a boolean
		}
		doc = "- " + n.Value
	case n.Tag == "!!binary":
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return nil, errors.New("!!binary value contains invalid base64 data")
		}
		return string(b), nil
	case n.Tag == "!!str", n.Tag == "!!bool", n.Tag == "!!int", n.Tag == "!!float", n.Tag == "!!null", n.Tag == "!!timestamp":
		doc = "- !<tag:yaml.org,2002:" + n.Tag[2:] + "> " + strconv.Quote(n.Value)
	default:
		return n.Value, nil // yaml.v2 keeps a scalar with any other tag as its text
	}
	var seq []any
	if err := yamlv2.Unmarshal([]byte(doc), &seq); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(seq) != 1 {
		return nil, errWalk
	}
	switch seq[0].(type) {
	case map[any]any, []any:
		return nil, errWalk
	}
	return seq[0], nil
}

// locateDecodeError finds the first problem yaml.v2's decoder stops at (an
// invalid key or merge, a bad tagged scalar) or, with dups, the first
// duplicate key yaml.v2's strict decoding reports. said is yaml.v2's
// message (without a line): the problem found must be the one it
// describes. It is nil when the walk finds nothing else or cannot follow
// yaml.v2.
func locateDecodeError(text []byte, lines *lineMap, dups bool, said string) *yamlError {
	root := parseNodes(text)
	if root == nil {
		return nil
	}
	w := newWalker(lines)
	e, err := w.run(func() *yamlError { return w.decodeNode(root, dups) })
	if err != nil || e == nil || !strings.HasPrefix(said, w.said) {
		return nil
	}
	return e
}

func (w *walker) decodeNode(n *yamlv3.Node, dups bool) *yamlError {
	w.step()
	switch n.Kind {
	case yamlv3.AliasNode:
		t := w.target(n)
		if w.active[t] {
			w.abort()
		}
		w.active[t] = true
		defer delete(w.active, t)
		return w.decodeNode(t, dups)
	case yamlv3.SequenceNode:
		for _, c := range n.Content {
			if e := w.decodeNode(c, dups); e != nil {
				return e
			}
		}
		return nil
	case yamlv3.MappingNode:
		return w.decodeMapping(n, dups)
	case yamlv3.ScalarNode:
		if dups {
			return nil
		}
		if _, err := w.scalar(n); err != nil {
			if err == errWalk {
				w.abort()
			}
			w.said = err.Error()
			return &yamlError{line: w.lines.line(n), msg: "invalid YAML: " + err.Error()}
		}
		return nil
	}
	w.abort()
	return nil
}

func (w *walker) decodeMapping(n *yamlv3.Node, dups bool) *yamlError {
	ents, _ := w.entries(n, nil, nil)
	seen := make(map[any]entry, len(ents))
	for _, e := range ents {
		if e.badMerge {
			if dups {
				w.abort()
			}
			w.said = "map merge requires map or sequence of maps as the value"
			return &yamlError{line: e.line(w.lines), msg: "invalid YAML: map merge (<<) requires a mapping or a sequence of mappings as its value"}
		}
		kn := e.key
		if kn.Kind == yamlv3.AliasNode {
			kn = w.target(kn)
		}
		if kn.Kind != yamlv3.ScalarNode {
			if err := w.decodeNode(e.key, dups); err != nil {
				return err
			}
			if dups {
				w.abort()
			}
			what := "mapping"
			w.said = "invalid map key: map["
			if kn.Kind == yamlv3.SequenceNode {
				what, w.said = "sequence", "invalid map key: []"
			}
			return &yamlError{line: w.lines.line(e.key), msg: "invalid YAML: a " + what + " cannot be a map key"}
		}
		k, err := w.scalar(kn)
		switch {
		case err == errWalk:
			w.abort()
		case err != nil && dups:
			w.abort()
		case err != nil:
			w.said = err.Error()
			return &yamlError{line: w.lines.line(e.key), msg: "invalid YAML: " + err.Error()}
		}
		if e := w.decodeNode(e.value, dups); e != nil {
			return e
		}
		if !dups {
			continue
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			w.abort()
		}
		prev, dup := seen[k]
		if !dup {
			seen[k] = e
			continue
		}
		w.said = fmt.Sprintf("key %#v already set in map", k)
		return w.duplicateKey(fmt.Sprintf("key %s", yamlText(k)), e, prev)
	}
	return nil
}

// duplicateKey reports e as a key of its mapping already set by prev.
func (w *walker) duplicateKey(key string, e, prev entry) *yamlError {
	line, first := e.line(w.lines), prev.line(w.lines)
	var msg string
	switch {
	case e.merge != nil && e.merge == prev.merge:
		msg = fmt.Sprintf("%s merged by << is set twice (lines %d and %d)", key, w.lines.line(prev.key), w.lines.line(e.key))
	case e.merge != nil:
		msg = fmt.Sprintf("%s merged by << already set in map (first set on line %d)", key, first)
	case prev.merge != nil:
		msg = fmt.Sprintf("%s already set in map (first set by the merge (<<) on line %d)", key, first)
	default:
		msg = fmt.Sprintf("%s already set in map (first set on line %d)", key, first)
	}
	return &yamlError{line: line, msg: "invalid YAML: " + msg}
}

// conversionError places a problem fromYAML found (a key or value with no
// JSON form, keys that become the same JSON key): it walks the document in
// order beside what yaml.v2 decoded and reports the first problem with its
// line. When the walk cannot follow yaml.v2, it returns err without a line.
func conversionError(text []byte, firstLine int, raw any, err error) *yamlError {
	lines := newLineMap(text, firstLine)
	if root := parseNodes(text); root != nil {
		w := newWalker(lines)
		e, walkErr := w.run(func() *yamlError { return w.convertNode(root, raw, 0) })
		if walkErr == nil && e != nil {
			return e
		}
	}
	return &yamlError{msg: err.Error()}
}

// convertNode walks node n beside v, what yaml.v2 decoded it to, in the
// maps and lists of depth.
func (w *walker) convertNode(n *yamlv3.Node, v any, depth int) *yamlError {
	w.step()
	if n.Kind == yamlv3.AliasNode {
		t := w.target(n)
		if w.active[t] {
			w.abort()
		}
		w.active[t] = true
		defer delete(w.active, t)
		return w.convertNode(t, v, depth)
	}
	switch t := v.(type) {
	case map[any]any:
		if n.Kind != yamlv3.MappingNode {
			w.abort()
		}
		if depth >= maxJSONDepth {
			return &yamlError{line: w.lines.line(n), msg: errTooDeep.Error()}
		}
		return w.convertMapping(n, t, depth+1)
	case []any:
		if n.Kind != yamlv3.SequenceNode || len(n.Content) != len(t) {
			w.abort()
		}
		if depth >= maxJSONDepth {
			return &yamlError{line: w.lines.line(n), msg: errTooDeep.Error()}
		}
		for i, c := range n.Content {
			if e := w.convertNode(c, t[i], depth+1); e != nil {
				return e
			}
		}
		return nil
	default:
		if n.Kind != yamlv3.ScalarNode {
			w.abort()
		}
		if _, err := fromYAML(v, depth); err != nil {
			return &yamlError{line: w.lines.line(n), msg: err.Error()}
		}
		return nil
	}
}

func (w *walker) convertMapping(n *yamlv3.Node, m map[any]any, depth int) *yamlError {
	ents, ok := w.entries(n, nil, nil)
	if !ok {
		w.abort()
	}
	// yaml.v2 keeps every NaN key apart, and which value belongs to which
	// NaN key is lost with the map's order; that matters only when their
	// values differ.
	var nans []any
	for k, v := range m {
		if f, ok := k.(float64); ok && math.IsNaN(f) {
			nans = append(nans, v)
		}
	}
	nansAgree := true
	if len(nans) > 1 {
		first, err := fromYAML(nans[0], depth)
		for _, v := range nans[1:] {
			c, err2 := fromYAML(v, depth)
			if err != nil || err2 != nil || !reflect.DeepEqual(first, c) {
				nansAgree = false
			}
		}
	}
	type seenKey struct {
		entry
		key any    // as yaml.v2 decoded it
		raw string // the string sigs.k8s.io/yaml makes of it
		val any    // converted
	}
	// Each pair must stand for one key of m, and every key of m for one
	// pair: yaml.v3 does not keep all yaml.v2 reads (a non-specific "!"
	// tag), and a walk that lost track must not report a problem.
	keys := make([]any, len(ents))
	found := make(map[any]bool, len(ents))
	nan := 0
	for i, e := range ents {
		k := w.key(e.key)
		keys[i] = k
		if f, ok := k.(float64); ok && math.IsNaN(f) {
			nan++
			continue
		}
		if _, in := m[k]; !in || found[k] {
			w.abort()
		}
		found[k] = true
	}
	if len(found)+len(nans) != len(m) || nan != len(nans) {
		w.abort()
	}
	seen := make(map[string]seenKey, len(ents))
	nan = 0
	for i, e := range ents {
		k := keys[i]
		raw, err := yamlKey(k)
		if err != nil {
			return &yamlError{line: w.lines.line(e.key), msg: err.Error()}
		}
		key := jsonString(raw)
		var val any
		if f, ok := k.(float64); ok && math.IsNaN(f) {
			if nan >= len(nans) {
				w.abort()
			}
			nan++
			val = nans[0]
			if !nansAgree {
				if prev, dup := seen[key]; dup {
					return w.ambiguousKey(k, e, prev.key, prev.entry, key)
				}
				seen[key] = seenKey{e, k, raw, nil}
				continue
			}
		} else {
			val = m[k]
		}
		if nan <= 1 {
			if p := w.convertNode(e.value, val, depth); p != nil {
				return p
			}
		}
		conv, err := fromYAML(val, depth)
		if err != nil {
			w.abort()
		}
		prev, dup := seen[key]
		switch {
		case !dup:
			seen[key] = seenKey{e, k, raw, conv}
		case prev.raw != raw:
			return &yamlError{line: e.line(w.lines), msg: fmt.Sprintf(
				"duplicate field %+q: key %+q and key %+q on line %d differ only in bytes that are not UTF-8, and are the same JSON key",
				key, raw, prev.raw, prev.line(w.lines))}
		case !reflect.DeepEqual(prev.val, conv):
			return w.ambiguousKey(k, e, prev.key, prev.entry, key)
		}
	}
	return nil
}

// key returns what yaml.v2 decodes a mapping key to.
func (w *walker) key(n *yamlv3.Node) any {
	if n.Kind == yamlv3.AliasNode {
		n = w.target(n)
	}
	if n.Kind != yamlv3.ScalarNode {
		w.abort()
	}
	k, err := w.scalar(n)
	if err != nil {
		w.abort()
	}
	return k
}

func (w *walker) ambiguousKey(k any, e entry, prevKey any, prev entry, jsonKey string) *yamlError {
	return &yamlError{line: e.line(w.lines), msg: fmt.Sprintf(
		"key %s and key %s on line %d are the same JSON key %q, with different values, and Kubernetes would keep either one",
		yamlText(k), yamlText(prevKey), prev.line(w.lines), jsonKey)}
}
