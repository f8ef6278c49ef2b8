package rxfilter

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the analysis. They bound time and memory on hostile patterns and
// trade selectivity for fewer literals; every choice below them stays sound.
const (
	// MaxLiterals is the most literals Required returns.
	MaxLiterals = 64
	// maxExact is the largest set of exact strings kept for a sub-expression.
	maxExact = 64
	// maxExactLen bounds the length of one exact string.
	maxExactLen = 256
	// maxClassRunes is the largest character class expanded to its runes.
	maxClassRunes = 64
	// maxWorking bounds an intermediate alternation's literal set.
	maxWorking = 512
)

// Lower returns s with ASCII A–Z lowercased and every other byte unchanged.
func Lower(s string) string {
	i := 0
	for i < len(s) && !isUpper(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// Required returns literals, ASCII-lowercase and non-empty, such that every
// string the regular expression matches (as regexp.MustCompile(pattern).MatchString
// reports, on any bytes, valid UTF-8 or not) contains at least one of them as
// a substring once ASCII letters are lowercased (Lower). ok is false when no
// such set is known (the regex must always be run); err when the pattern does
// not compile. pattern is the whole string given to regexp.Compile.
//
// ok is also false for patterns with \x escapes of bytes 0x80–0xFF, which
// Coraza runs with rsc.io/binaryregexp instead of regexp. A pattern that can
// match nothing gives ok=true and no literals. At most MaxLiterals literals
// are returned, sorted. Time and memory grow about linearly with the
// pattern's size (the regexp parser's own limits apply first). Required
// keeps no state and is safe for concurrent use.
func Required(pattern string) (lits []string, ok bool, err error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, false, fmt.Errorf("rxfilter: compile pattern: %w", err)
	}
	if hasHighByteEscape(pattern) {
		return nil, false, nil
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false, fmt.Errorf("rxfilter: parse pattern: %w", err)
	}
	in := analyze(re.Simplify())
	s := reduce(in.req, MaxLiterals)
	if s.any {
		return nil, false, nil
	}
	return s.lits, true, nil
}

// hasHighByteEscape reports whether pattern has a \xNN or \x{…} escape that
// Coraza may decode as a byte 0x80–0xFF (and so run with binaryregexp). It
// over-approximates Coraza's test: any such escape counts, escaped backslash
// or not, under either reading of a braced escape.
func hasHighByteEscape(pattern string) bool {
	for i := 0; i+2 < len(pattern); i++ {
		if pattern[i] != '\\' || pattern[i+1] != 'x' {
			continue
		}
		rest := pattern[i+2:]
		if v, ok := hex2(rest); ok && v >= 0x80 {
			return true
		}
		if rest[0] != '{' {
			continue
		}
		if v, ok := hex2(rest[1:]); ok && v >= 0x80 {
			return true
		}
		v := 0
		for j := 1; j < len(rest) && j < 10 && isHex(rest[j]); j++ {
			v = v*16 + hexVal(rest[j])
		}
		if v >= 0x80 && v <= 0xFF {
			return true
		}
	}
	return false
}

func hex2(s string) (int, bool) {
	if len(s) < 2 || !isHex(s[0]) || !isHex(s[1]) {
		return 0, false
	}
	return hexVal(s[0])*16 + hexVal(s[1]), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// set is a disjunction of literals: every string of a language contains one
// of lits. any means nothing is known; no literals and !any means the
// language is empty.
type set struct {
	any  bool
	lits []string
}

var anySet = set{any: true}

// info describes the strings a sub-expression matches (ASCII-lowercased).
type info struct {
	// exact, when exactOK, is every string the sub-expression can match.
	exact   []string
	exactOK bool
	// Every match begins with one of pre and ends with one of suf ({""}
	// when nothing is known).
	pre, suf []string
	// req is a literal set every matched string satisfies.
	req set
}

// unknown is the prefix or suffix set that says nothing.
var unknown = []string{""}

func inexact(req set, pre, suf []string) info { return info{req: req, pre: pre, suf: suf} }

var anything = inexact(anySet, unknown, unknown)

func exactInfo(e []string) info {
	e = dedupe(e)
	return info{exact: e, exactOK: true, pre: e, suf: e, req: fromExact(e)}
}

var emptyString = exactInfo([]string{""})

// fromExact is the literal set of a language given exactly.
func fromExact(e []string) set {
	for _, s := range e {
		if s == "" {
			return anySet
		}
	}
	return normalize(set{lits: append([]string(nil), e...)})
}

// analyze walks a simplified syntax tree. Recursion depth is bounded by the
// parser's nesting limit.
func analyze(re *syntax.Regexp) info {
	switch re.Op {
	case syntax.OpNoMatch:
		return exactInfo(nil)
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		// Empty-width assertions only restrict where a match may be.
		return emptyString
	case syntax.OpLiteral:
		parts := make([]info, len(re.Rune))
		for i, r := range re.Rune {
			parts[i] = runeInfo(r, re.Flags&syntax.FoldCase != 0)
		}
		return concat(parts)
	case syntax.OpCharClass:
		return classInfo(re.Rune)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return anything
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpStar:
		return anything
	case syntax.OpQuest:
		sub := analyze(re.Sub[0])
		if sub.exactOK && len(sub.exact) < maxExact {
			return exactInfo(append(append([]string(nil), sub.exact...), ""))
		}
		return anything
	case syntax.OpPlus:
		// x+ begins and ends with a match of x.
		sub := analyze(re.Sub[0])
		return inexact(sub.req, sub.pre, sub.suf)
	case syntax.OpRepeat:
		if re.Max == 0 {
			return emptyString
		}
		if re.Min == 0 {
			return anything
		}
		sub := analyze(re.Sub[0])
		return inexact(sub.req, sub.pre, sub.suf)
	case syntax.OpConcat:
		parts := make([]info, len(re.Sub))
		for i, sub := range re.Sub {
			parts[i] = analyze(sub)
		}
		return concat(parts)
	case syntax.OpAlternate:
		return alternate(re.Sub)
	}
	// Unknown operators: nothing is known.
	return anything
}

// runeInfo is the language of one literal rune, folded when fold is set
// (the regexp package matches the rune's whole unicode.SimpleFold orbit).
// A rune that an invalid byte could match (U+FFFD) or that no input decodes
// to gives no exact strings.
func runeInfo(r rune, fold bool) info {
	runes := []rune{r}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			runes = append(runes, f)
		}
	}
	e := make([]string, 0, len(runes))
	for _, f := range runes {
		if f == utf8.RuneError {
			return anything
		}
		if !utf8.ValidRune(f) {
			continue // no input decodes to it: it never matches
		}
		e = append(e, Lower(string(f)))
	}
	return exactInfo(e)
}

// classInfo is the language of a character class given as rune ranges.
func classInfo(ranges []rune) info {
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo <= utf8.RuneError && utf8.RuneError <= hi {
			return anything // invalid bytes match as U+FFFD
		}
		n += int(hi-lo) + 1
		if n > maxClassRunes {
			return anything
		}
	}
	e := make([]string, 0, n)
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if utf8.ValidRune(r) {
				e = append(e, Lower(string(r)))
			}
		}
	}
	e = dedupe(e)
	if len(e) > maxExact {
		return anything
	}
	return exactInfo(e)
}

// concat combines a sequence. Runs of exact parts, with the suffixes and
// prefixes of the inexact parts around them, are multiplied out while
// small; the best literal set of any part or run is required of the whole.
func concat(parts []info) info {
	cur := unknown
	allExact, first := true, true
	best := anySet
	var pre []string
	flush := func() {
		best = better(best, fromExact(cur))
		if first {
			pre, first = cur, false
		}
	}
	for _, p := range parts {
		best = better(best, p.req)
		if p.exactOK {
			if fits(cur, p.exact) {
				cur = cross(cur, p.exact)
				continue
			}
			allExact = false
			flush()
			cur = p.exact
			continue
		}
		allExact = false
		if fits(cur, p.pre) {
			cur = cross(cur, p.pre)
		} else {
			best = better(best, fromExact(p.pre))
		}
		flush()
		cur = p.suf
	}
	if allExact {
		return exactInfo(cur)
	}
	best = better(best, fromExact(cur))
	return inexact(best, pre, cur)
}

func fits(a, b []string) bool {
	if len(a)*len(b) > maxExact {
		return false
	}
	la, lb := 0, 0
	for _, s := range a {
		la = max(la, len(s))
	}
	for _, s := range b {
		lb = max(lb, len(s))
	}
	return la+lb <= maxExactLen
}

func cross(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return dedupe(out)
}

// alternate combines alternatives: exact when all are and the union is
// small, else the union of their literal sets, prefixes and suffixes.
func alternate(subs []*syntax.Regexp) info {
	var exact, pre, suf []string
	exactOK := true
	req := set{}
	for _, sub := range subs {
		in := analyze(sub)
		if exactOK && in.exactOK && len(exact)+len(in.exact) <= maxExact {
			exact = append(exact, in.exact...)
		} else {
			exactOK = false
		}
		pre = unite(pre, in.pre)
		suf = unite(suf, in.suf)
		if req.any || in.req.any {
			req = anySet
			continue
		}
		req.lits = append(req.lits, in.req.lits...)
		if len(req.lits) > maxWorking {
			// Shrink well below the bound so that reductions stay rare:
			// work stays linear in the number of alternatives.
			req = reduce(req, maxWorking/4)
		}
	}
	if exactOK {
		return exactInfo(exact)
	}
	return inexact(normalize(req), pre, suf)
}

// unite is the union of two prefix (or suffix) sets, or unknown when it is
// too large.
func unite(a, b []string) []string {
	if len(a) == 1 && a[0] == "" || len(b) == 1 && b[0] == "" {
		return unknown
	}
	u := dedupe(append(append([]string(nil), a...), b...))
	if len(u) > maxExact {
		return unknown
	}
	return u
}

// cost estimates how often a set's literals occur in benign text; lower is
// more selective. Unknown sets cost the most.
func cost(s set) float64 {
	if s.any {
		return math.Inf(1)
	}
	c := 0.0
	for _, l := range s.lits {
		c += math.Pow(4, -float64(min(len(l), 6)))
	}
	return c
}

func better(a, b set) set {
	if cost(b) < cost(a) {
		return b
	}
	return a
}

// normalize sorts and deduplicates lits and drops any literal that contains
// another (a string holding the longer one holds the shorter one too).
func normalize(s set) set {
	if s.any {
		return s
	}
	lits := dedupe(s.lits)
	sort.Slice(lits, func(i, j int) bool {
		if len(lits[i]) != len(lits[j]) {
			return len(lits[i]) < len(lits[j])
		}
		return lits[i] < lits[j]
	})
	kept := lits[:0:0]
	for _, l := range lits {
		redundant := false
		for _, k := range kept {
			if strings.Contains(l, k) {
				redundant = true
				break
			}
		}
		if !redundant {
			kept = append(kept, l)
		}
	}
	sort.Strings(kept)
	return set{lits: kept}
}

// reduce returns a set of at most limit literals implied by s: each literal
// is replaced by one of its substrings of a shrinking length, chosen to be
// shared with as many other literals as possible (or its prefix or suffix),
// until the set is small enough. A substring of a required literal is
// required too.
func reduce(s set, limit int) set {
	s = normalize(s)
	if s.any || len(s.lits) <= limit {
		return s
	}
	longest := 0
	for _, l := range s.lits {
		longest = max(longest, len(l))
	}
	for n := min(longest-1, 12); n >= 1; n-- {
		var best set
		found := false
		for _, c := range []set{
			normalize(set{lits: truncate(s.lits, n, false)}),
			normalize(set{lits: truncate(s.lits, n, true)}),
			normalize(set{lits: commonGrams(s.lits, n)}),
		} {
			if len(c.lits) <= limit && (!found || cost(c) < cost(best)) {
				best, found = c, true
			}
		}
		if found {
			return best
		}
	}
	return anySet
}

// commonGrams replaces each literal longer than n by its n-byte substring
// that the most literals contain.
func commonGrams(lits []string, n int) []string {
	freq := map[string]int{}
	for _, l := range lits {
		seen := map[string]bool{}
		for i := 0; i+n <= len(l); i++ {
			g := l[i : i+n]
			if !seen[g] {
				seen[g] = true
				freq[g]++
			}
		}
	}
	out := make([]string, len(lits))
	for k, l := range lits {
		if len(l) <= n {
			out[k] = l
			continue
		}
		best := l[:n]
		for i := 1; i+n <= len(l); i++ {
			g := l[i : i+n]
			if freq[g] > freq[best] || freq[g] == freq[best] && g < best {
				best = g
			}
		}
		out[k] = best
	}
	return out
}

func truncate(lits []string, n int, suffix bool) []string {
	out := make([]string, len(lits))
	for i, l := range lits {
		switch {
		case len(l) <= n:
			out[i] = l
		case suffix:
			out[i] = l[len(l)-n:]
		default:
			out[i] = l[:n]
		}
	}
	return out
}

func dedupe(e []string) []string {
	if len(e) < 2 {
		return e
	}
	seen := make(map[string]struct{}, len(e))
	out := e[:0:0]
	for _, s := range e {
		if _, ok := seen[s]; !ok {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}
