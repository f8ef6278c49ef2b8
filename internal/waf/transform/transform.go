package transform

import (
	"fmt"
	"strings"
)

// Func is one transformation: out is what Coraza's transformation of the same name returns for
// s, changed whether Coraza reports a change, err its error (nil when Coraza returns none).
//
// A Func never panics and runs in time linear in len(s).
type Func func(s string) (out string, changed bool, err error)

// entry is one registered transformation: its canonical (Coraza's documented) name and code.
type entry struct {
	name string
	fn   Func
}

// registry maps lowercased t: names to transformations. Coraza looks names up after lowering
// them, so "urlDecodeUni", "urldecodeuni" and "URLDECODEUNI" all name the same transformation.
// It is built once and never modified.
var registry = map[string]entry{}

func register(name string, fn Func) {
	registry[strings.ToLower(name)] = entry{name: name, fn: fn}
}

func init() {
	register("base64Decode", base64Decode)
	register("base64DecodeExt", base64DecodeExt)
	register("base64Encode", base64Encode)
	register("cmdLine", cmdLine)
	register("compressWhitespace", compressWhitespace)
	register("cssDecode", cssDecode)
	register("escapeSeqDecode", escapeSeqDecode)
	register("hexDecode", hexDecode)
	register("hexEncode", hexEncode)
	register("htmlEntityDecode", htmlEntityDecode)
	register("jsDecode", jsDecode)
	register("length", length)
	register("lowercase", lowercase)
	register("md5", md5Sum)
	register("none", none)
	register("normalizePath", normalizePath)
	register("normalizePathWin", normalizePathWin)
	register("removeComments", removeComments)
	register("removeCommentsChar", removeCommentsChar)
	register("removeNulls", removeNulls)
	register("removeWhitespace", removeWhitespace)
	register("replaceComments", replaceComments)
	register("replaceNulls", replaceNulls)
	register("sha1", sha1Sum)
	register("trim", trim)
	register("trimLeft", trimLeft)
	register("trimRight", trimRight)
	register("uppercase", uppercase)
	register("urlDecode", urlDecode)
	register("urlDecodeUni", urlDecodeUni)
	register("urlEncode", urlEncode)
	register("utf8toUnicode", utf8toUnicode)
	// Coraza accepts the British spellings as aliases of the same functions.
	registry["normalisepath"] = registry["normalizepath"]
	registry["normalisepathwin"] = registry["normalizepathwin"]
}

// Lookup returns the transformation with the t: action's name (matched as Coraza matches it,
// e.g. case-insensitively if Coraza does); ok is false for one not implemented here.
func Lookup(name string) (f Func, ok bool) {
	e, ok := registry[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return e.fn, true
}

// Chain is a rule's list of transformations, compiled. A Chain is immutable and safe for
// concurrent use; the zero Chain applies no transformation.
type Chain struct {
	names []string // canonical names, for String
	fns   []Func
}

// Compile compiles the rule's t: action values in order as written (including "none", which
// clears the ones before it, as Coraza does). It fails, naming the transformation, for one not
// implemented here.
//
// Like Coraza, only the exact value "none" clears the chain; another spelling such as "None"
// names the identity transformation, which Compile leaves out because it can neither change a
// value nor fail.
func Compile(names []string) (*Chain, error) {
	c := &Chain{}
	for _, n := range names {
		if n == "none" {
			c.names, c.fns = nil, nil
			continue
		}
		e, ok := registry[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("compile transformation chain: transformation %q is not implemented", n)
		}
		if e.name == "none" {
			continue
		}
		c.names = append(c.names, e.name)
		c.fns = append(c.fns, e.fn)
	}
	return c, nil
}

// Apply returns the value Coraza's rule engine hands the operator for input s when the rule has
// no multiMatch (including what Coraza does when a transformation errs).
//
// As in Coraza, a transformation that fails leaves the value as it was and the next one runs on
// it. Apply returns s itself, without allocating, when no transformation changes it.
func (c *Chain) Apply(s string) string {
	for _, f := range c.fns {
		if out, _, err := f(s); err == nil {
			s = out
		}
	}
	return s
}

// ApplyMulti appends to dst the values Coraza hands the operator, in Coraza's order, when the
// rule has multiMatch (whatever Coraza does: original value or not, only changed values or not,
// duplicates or not — reproduce it), and returns dst.
//
// Coraza hands over the original value first, then the output of every transformation that
// reports a change (even when the output equals its input, and even when an earlier value was
// the same); a transformation that fails or reports no change contributes nothing and the next
// one runs on the last value kept.
func (c *Chain) ApplyMulti(s string, dst []string) []string {
	dst = append(dst, s)
	for _, f := range c.fns {
		out, changed, err := f(s)
		if err != nil || !changed {
			continue
		}
		dst = append(dst, out)
		s = out
	}
	return dst
}

// String is the chain as "t1,t2,..." (the key the screen groups rules by). Names are the
// canonical spellings (e.g. "lowercase", "normalizePath"), after "none" has cleared what came
// before it, so chains that Coraza evaluates identically print identically; the empty chain
// prints as "".
func (c *Chain) String() string {
	return strings.Join(c.names, ",")
}

// Len returns the number of transformations in the chain.
func (c *Chain) Len() int { return len(c.fns) }
