package k8s

import (
	"fmt"
	"strings"
	"testing"
)

// trickyYAML are documents on which YAML readers disagree. Each is checked
// against the reference (compareYAMLPaths); err and line say what
// decodeYAML reports, when it fails.
var trickyYAML = []struct {
	name string
	in   string
	err  string // part of the error; "" when the document decodes
	line int    // line of the error
}{
	// Anchors, aliases and merge keys.
	{name: "alias of a scalar", in: "a: &x 1\nb: *x\n"},
	{name: "alias of a mapping", in: "a: &x {k: v}\nb: *x\nc: [*x, *x]\n"},
	{name: "alias as a key", in: "a: &k key\n*k : v\n"},
	{name: "merge a mapping", in: "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  z: 3\n"},
	{name: "merge a sequence of mappings", in: "a: &a {x: 1}\nb: &b {y: 2}\nm:\n  <<: [*a, *b]\n"},
	{name: "merge of mappings that share a key", in: "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nm:\n  <<: [*a, *b]\n", err: `key "x" merged by << is set twice (lines 2 and 1)`, line: 4},
	{name: "merge an inline mapping", in: "m: {<<: {x: 1}, y: 2}\n"},
	{name: "merge that overrides a key", in: "base: &b {x: 1}\nm:\n  x: 2\n  <<: *b\n", err: `key "x" merged by << already set in map (first set on line 3)`, line: 4},
	{name: "key after a merge that set it", in: "base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n", err: `key "x" already set in map (first set by the merge (<<) on line 3)`, line: 4},
	{name: "merge of a scalar", in: "m:\n  a: 1\n  <<: 3\n", err: "map merge (<<) requires a mapping", line: 3},
	{name: "quoted << is a key", in: "m: {\"<<\": {x: 1}}\n"},
	{name: "!!merge tag", in: "m: {!!merge \"<<\": {x: 1}}\n"},
	{name: "anchor that contains itself", in: "a: &a [*a]\n", err: "invalid YAML"},
	{name: "unknown anchor", in: "a: *nope\n", err: "unknown anchor"},
	{name: "alias bomb", in: aliasBomb(), err: "excessive aliasing"},

	// Tags.
	{name: "str, int, float, bool, null tags", in: "a: !!str 1\nb: !!int \"2\"\nc: !!float 3\nd: !!bool yes\ne: !!null ''\n"},
	{name: "bad null tag", in: "a: !!null x\n", err: "cannot decode !!str `x` as a !!null", line: 1},
	{name: "bad int tag", in: "a: 1\nb: !!int x\n", err: "cannot decode !!str `x` as a !!int", line: 2},
	{name: "binary", in: "a: !!binary aGVsbG8=\n"},
	{name: "binary that is not UTF-8", in: "a: !!binary gIH/\n"},
	{name: "binary with bad base64", in: "a: 1\nb: !!binary $$$\n", err: "invalid base64", line: 2},
	{name: "binary keys that are the same JSON key", in: "? !!binary gA==\n: 1\n? !!binary gQ==\n: 2\n", err: `duplicate field "\ufffd": key "\x81" and key "\x80" on line 1`, line: 3},
	{name: "binary key and U+FFFD key", in: "\"\\uFFFD\": 1\n? !!binary gA==\n: 1\n", err: `duplicate field "\ufffd": key "\x80" and key "\ufffd" on line 1`, line: 2},
	{name: "local and unknown tags", in: "a: !foo bar\nb: !!foo 1\nc: !<tag:example.com,2000:x> 2\n"},
	{name: "timestamp tag", in: "a: !!timestamp 2001-12-14T21:59:43.10-05:00\nb: !!timestamp 2002-12-14\n"},
	{name: "timestamp key", in: "? !!timestamp 2002-12-14\n: x\n"}, // yaml.v2 keeps a timestamp as text

	// Numbers as YAML 1.1 reads them.
	{name: "octal", in: "a: 0400\nb: 0o17\nc: 08\nd: 0777\ne: -010\n"},
	{name: "hex and binary", in: "a: 0x1F\nb: 0b101\nc: -0x10\nd: 0xFFFFFFFFFFFFFFFF\n"},
	{name: "sexagesimal-looking", in: "a: 1:30\nb: 190:20:30\nc: 1_000\nd: 1_0.5\n"},
	{name: "large integers", in: "a: 9223372036854775807\nb: 9223372036854775808\nc: -9223372036854775809\nd: 18446744073709551615\ne: 18446744073709551616\nf: 123456789012345678901234567890\n"},
	{name: "floats", in: "a: 1e3\nb: 1.0e+3\nc: 1E-7\nd: .5\ne: 6.\nf: 1e400\ng: -0.0\nh: 0.1\ni: 1e21\nj: 1e20\n"},
	{name: "inf", in: "a: 1\nb: .inf\n", err: ".inf has no JSON form", line: 2},
	{name: "negative inf in a list", in: "a:\n- 1\n- -.Inf\n", err: "-.inf has no JSON form", line: 3},
	{name: "nan", in: "a: .NaN\n", err: ".nan has no JSON form", line: 1},
	{name: "overflowing float", in: "a: 1e400\n"},

	// Booleans and nulls.
	{name: "YAML 1.1 booleans", in: "a: y\nb: Y\nc: n\nd: yes\ne: No\nf: on\ng: OFF\nh: True\ni: FALSE\nj: tRuE\n"},
	{name: "null forms", in: "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: \"\"\ng: nULL\nh: [~, null, ]\n"},
	{name: "null key", in: "~: x\n", err: "map key null cannot be a JSON key", line: 1},
	{name: "empty key", in: "a: 1\n? \n: x\n", err: "map key null cannot be a JSON key", line: 2},
	{name: "empty key in a flow mapping", in: "{: x}\n", err: "did not find expected node content", line: 1},

	// Keys.
	{name: "integer, float and boolean keys", in: "1: a\n2.5: b\ntrue: c\nno: d\n0x10: e\n1e3: f\n"},
	{name: "float key as float32", in: "0.1: a\n16777217.0: b\n"},
	{name: "key above int64", in: "18446744073709551615: x\n", err: "cannot be a JSON key", line: 1},
	{name: "mapping key", in: "a: 1\n? {b: 1}\n: x\n", err: "a mapping cannot be a map key", line: 2},
	{name: "sequence key", in: "[1, 2]: x\n", err: "a sequence cannot be a map key", line: 1},

	// Duplicate keys.
	{name: "duplicate key", in: "a: 1\nb: 2\na: 3\n", err: `key "a" already set in map (first set on line 1)`, line: 3},
	{name: "duplicate key with a null value", in: "a: 1\na:\nb: 2\n", err: `key "a" already set in map`, line: 2},
	{name: "duplicate key with a block value", in: "a: {x: 1}\na:\n  x: 2\n", err: `key "a" already set in map`, line: 2},
	{name: "duplicate key in a flow mapping", in: "m: {x: 1,\n  x: 2}\n", err: `key "x" already set in map`, line: 2},
	{name: "duplicate null keys", in: "?\n?", err: "key null already set in map (first set on line 1)", line: 2},
	{name: "duplicate boolean key", in: "true: a\nTrue: b\n", err: "key true already set in map", line: 2},
	{name: "keys 1 and 1.0", in: "1: a\n1.0: b\n", err: `key 1.0 and key 1 on line 1 are the same JSON key "1"`, line: 2},
	{name: "keys 8 and 08", in: "8: a\n08: b\n", err: `key 8.0 and key 8 on line 1 are the same JSON key "8"`, line: 2},
	{name: "keys true and \"true\"", in: "true: a\n\"true\": b\n", err: `are the same JSON key "true"`, line: 2},
	{name: "keys 1 and \"1\" nested", in: "m:\n  n:\n    1: a\n    '1': b\n", err: `are the same JSON key "1"`, line: 4},
	{name: "colliding keys with equal values", in: "1: a\n1.0: a\n\"1\": a\n"},
	{name: "colliding keys with null values", in: "1: ~\n1.0: null\n"},
	{name: "colliding keys, null and not", in: "1: ~\n1.0: x\n", err: `the same JSON key "1"`, line: 2},
	{name: "colliding keys through a merge", in: "b: &b {1: a}\nm:\n  <<: *b\n  1.0: b\n", err: `the same JSON key "1"`, line: 4},
	{name: "two NaN keys", in: ".nan: a\n.NaN: b\n", err: `the same JSON key ".nan"`, line: 2},
	{name: "two NaN keys with equal values", in: ".nan: a\n.NaN: a\n"},
	{name: "float keys equal as float32", in: "0.1: a\n0.100000001: b\n", err: `the same JSON key "0.1"`, line: 2},

	// Nesting: the API server's JSON decoder stops at 10,000 levels, and
	// aliases nest a document deeper than yaml.v2's own limit.
	{name: "nesting at the JSON limit", in: "x: " + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "\n"},
	{name: "nesting past the JSON limit", in: "x: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n", err: "nest more than 10000 levels deep", line: 1},
	{name: "aliases nesting past the JSON limit", in: "x: &a " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\ny: " + strings.Repeat("[", 5000) + "*a" + strings.Repeat("]", 5000) + "\n", err: "nest more than 10000 levels deep", line: 1},
	{name: "nesting past yaml.v2's limit", in: "x: " + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "\n", err: "exceeded max depth of 10000", line: 1},

	// Strings.
	{name: "quoted scalars", in: "a: \"yes\"\nb: 'null'\nc: \"1\"\nd: \"\\u00e9\\t\\x41\"\ne: '~'\n"},
	{name: "block scalars", in: "a: |\n  x\n  y\nb: >\n  x\n  y\nc: |-\n  z\nd: |+\n  z\n\n"},
	{name: "line separators", in: "a: \"x\u2028y\"\nb: 1\rc: [\n", err: "invalid YAML", line: 2},
	{name: "HTML characters", in: "a: <b>&amp;</b>\n"},
	{name: "surrogate escape", in: "a: \"\\ud800\"\n", err: "invalid Unicode character escape code", line: 1},

	// Documents.
	{name: "explicit document", in: "---\na: 1\n...\n"},
	{name: "second document is ignored", in: "a: 1\n---\nb: 2\n"},
	{name: "document end then content", in: "a: 1\n...\nb: 2\n"},
	{name: "directive", in: "%YAML 1.1\n---\na: 1\n"},
	{name: "empty document", in: ""},
	{name: "only a comment", in: "# nothing\n"},
	{name: "top-level sequence", in: "- 1\n- a: b\n"},
	{name: "top-level scalar", in: "hello\n"},
	{name: "JSON", in: "{\"a\": [1, 2.5, \"x\", null, true], \"b\": {\"c\": 1e2}}\n"},

	// Invalid text.
	{name: "invalid UTF-8", in: "a: 1\nb: \"x\xff\"\n", err: "byte 0xFF is not valid UTF-8", line: 2},
	{name: "control character", in: "a: 1\nb: 2\nc: \x01\n", err: "control character U+0001 is not allowed", line: 3},
	{name: "tab indentation", in: "a:\n\tb: 1\n", err: "found character that cannot start any token", line: 2},
	{name: "unclosed flow sequence", in: "a: [1, 2\nb: 3\n", err: "did not find expected ',' or ']'", line: 2},
	{name: "unclosed flow sequence before a mapping", in: "a: 1\nb: [1, 2\nc: 3\n", err: "did not find expected ',' or ']'", line: 3},
	{name: "sequence entry in a mapping", in: "- a\nb: 1\n", err: "did not find expected '-' indicator", line: 2},
	{name: "bad indentation", in: "a:\n  b: 1\n c: 2\n", err: "did not find expected key", line: 3},
	{name: "mapping values on line 1", in: "a: b: c\n", err: "mapping values are not allowed in this context", line: 1},
}

// aliasBomb is a document whose aliases expand to 9^9 strings.
func aliasBomb() string {
	doc := "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for c := 'b'; c <= 'i'; c++ {
		prev := "*" + string(c-1)
		doc += fmt.Sprintf("%c: &%c [%s]\n", c, c, strings.Repeat(prev+", ", 8)+prev)
	}
	return doc
}

func TestDecodeYAMLTricky(t *testing.T) {
	for _, tt := range trickyYAML {
		t.Run(tt.name, func(t *testing.T) {
			compareYAMLPaths(t, []byte(tt.in))
			_, err := decodeYAML([]byte(tt.in), 1)
			switch {
			case err == nil && tt.err != "":
				t.Errorf("no error, want %q", tt.err)
			case err != nil && tt.err == "":
				t.Errorf("error %v", err)
			case err != nil && !strings.Contains(err.Error(), tt.err):
				t.Errorf("error %q, want it to contain %q", err, tt.err)
			case err != nil && tt.line != 0 && err.(*yamlError).line != tt.line:
				t.Errorf("error on line %d, want %d: %v", err.(*yamlError).line, tt.line, err)
			}
		})
	}
}
