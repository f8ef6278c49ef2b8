package rxfilter

import (
	"errors"
	"math/rand"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/crstest"
)

// containsAny is the naive reference: does Lower(s) contain one of lits?
func containsAny(s string, lits []string) bool {
	low := Lower(s)
	for _, l := range lits {
		if strings.Contains(low, l) {
			return true
		}
	}
	return false
}

// checkLits checks Required's contract on the literals themselves.
func checkLits(t *testing.T, pattern string, lits []string) {
	t.Helper()
	if len(lits) > MaxLiterals {
		t.Errorf("Required(%q): %d literals, more than %d", pattern, len(lits), MaxLiterals)
	}
	for _, l := range lits {
		if l == "" || Lower(l) != l {
			t.Errorf("Required(%q): literal %q empty or not lowercase", pattern, l)
		}
	}
}

// soundOn runs the generator n times on pattern (and on case variants of
// what it makes) and reports each matching string without a literal. It
// returns how many generated strings matched.
func soundOn(t *testing.T, r *rand.Rand, pattern string, lits []string, n int, extra []string) int {
	t.Helper()
	re := regexp.MustCompile(pattern)
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		t.Fatalf("parse %q: %v", pattern, err)
	}
	g := &generator{r: r}
	matched, failures := 0, 0
	check := func(s string) {
		if !re.MatchString(s) {
			return
		}
		matched++
		if !containsAny(s, lits) && failures < 5 {
			failures++
			t.Errorf("UNSOUND: %q matches %q but contains none of %q", pattern, s, lits)
		}
	}
	for _, s := range extra {
		check(s)
	}
	// Walk both the parsed tree and the simplified one regexp runs.
	trees := []*syntax.Regexp{parsed, parsed.Simplify()}
	for i := 0; i < n; i++ {
		s := g.gen(trees[i%2])
		check(s)
		check(caseVariant(r, s))
	}
	return matched
}

func TestLower(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {"ABC xyz", "abc xyz"}, {"@[`{Z", "@[`{z"},
		{"\u212aK\xff\xc3\x89", "\u212ak\xff\xc3\x89"},
	} {
		if got := Lower(tc.in); got != tc.want {
			t.Errorf("Lower(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRequiredTricky(t *testing.T) {
	words := make([]string, 200)
	for i := range words {
		words[i] = string([]byte{byte('a' + i%26), byte('a' + i/26%26), 'q', byte('a' + i*7%26)})
	}
	for _, tc := range []struct {
		pattern string
		ok      bool
		lits    []string // checked when non-nil
		inputs  []string // extra inputs tried
	}{
		{pattern: `abc`, ok: true, lits: []string{"abc"}},
		{pattern: `ABC`, ok: true, lits: []string{"abc"}},
		{pattern: `(?i)k`, ok: true, lits: []string{"k", "\u212a"}, inputs: []string{"\u212a", "K"}},
		{pattern: `(?i)s`, ok: true, lits: []string{"s", "\u017f"}, inputs: []string{"\u017f"}},
		{pattern: `(?i)kelvins`, ok: true, inputs: []string{"\u212aelvin\u017f", "KELVINS"}},
		{pattern: `(?i)[k]x`, ok: true, inputs: []string{"\u212ax"}},
		{pattern: `(?i)[j-l]x`, ok: true, inputs: []string{"\u212aX"}},
		{pattern: `(?i)[r-t]x`, ok: true, inputs: []string{"\u017fX"}},
		{pattern: `(?i)ǆ`, ok: true, inputs: []string{"ǅ", "Ǆ"}},
		{pattern: `(?i)µ`, ok: true, inputs: []string{"μ", "Μ"}},
		{pattern: `(?i)ß`, ok: true, inputs: []string{"ẞ"}},
		{pattern: `(?i)Å`, ok: true, inputs: []string{"\u212b", "å"}},
		{pattern: `abc(?i)def`, ok: true},
		{pattern: `(?i:abc)DEF`, ok: true, lits: []string{"abcdef"}},
		{pattern: `\x{212a}`, ok: true, lits: []string{"\u212a"}},
		{pattern: `[^a]`, ok: false},
		{pattern: `[^\x00-\x7f]x`, ok: true, lits: []string{"x"}, inputs: []string{"\xffx", "\xc3x"}},
		{pattern: "x\uFFFDy", ok: true, inputs: []string{"x\xffy", "x\xef\xbf\xbdy"}},
		{pattern: `[\x{FFFD}]`, ok: false},
		{pattern: "[\uFFFDa]b", ok: true, lits: []string{"b"}, inputs: []string{"\xffb", "\xc3b"}},
		{pattern: "(?i)[\uFFFDk]", ok: false},
		{pattern: `\x{FFFD}`, ok: false},
		{pattern: `\x{10FFFF}`, ok: true},
		{pattern: `\pL+abc`, ok: true, lits: []string{"abc"}},
		{pattern: `[[:alpha:]]+q`, ok: true, lits: []string{"q"}},
		{pattern: `.abc`, ok: true, lits: []string{"abc"}},
		{pattern: `(?s).x`, ok: true, lits: []string{"x"}},
		{pattern: `(?-s).x`, ok: true},
		{pattern: `^abc$`, ok: true, lits: []string{"abc"}},
		{pattern: `(?m)^abc$`, ok: true, lits: []string{"abc"}, inputs: []string{"x\nabc\ny"}},
		{pattern: `\babc\b`, ok: true, lits: []string{"abc"}},
		{pattern: `\Bx\B`, ok: true, lits: []string{"x"}},
		{pattern: `(abc)`, ok: true, lits: []string{"abc"}},
		{pattern: `a*`, ok: false},
		{pattern: `x*`, ok: false},
		{pattern: `a+`, ok: true, lits: []string{"a"}},
		{pattern: `a?b`, ok: true, lits: []string{"b"}},
		{pattern: `a?`, ok: false},
		{pattern: `(?:ab)*c`, ok: true, lits: []string{"c"}},
		{pattern: `(?:ab){2,3}`, ok: true},
		{pattern: `(?:ab){0,3}`, ok: false},
		{pattern: `a{0}`, ok: false},
		{pattern: `a{0}b`, ok: true, lits: []string{"b"}},
		{pattern: `(?:)`, ok: false},
		{pattern: `^$`, ok: false},
		{pattern: `a|`, ok: false},
		{pattern: `|a`, ok: false},
		{pattern: `(?:a|)b`, ok: true},
		{pattern: `(?:abc|)def`, ok: true},
		{pattern: `(?i)abc|DEF`, ok: true},
		{pattern: `[^\x00-\x{10FFFF}]`, ok: true, lits: []string{}},
		{pattern: `(?:(?:a+)+)+b`, ok: true},
		{pattern: `((a|b)*c){3}`, ok: true, lits: []string{"c"}},
		{pattern: `union\s+select`, ok: true},
		{pattern: `a.{0,3}b`, ok: true},
		{pattern: `(?U)a+?b`, ok: true},
		{pattern: `\d+x`, ok: true, lits: []string{"x"}},
		{pattern: `\Qa.b\E`, ok: true, lits: []string{"a.b"}},
		{pattern: `[^\n]abc`, ok: true, lits: []string{"abc"}},
		{pattern: `[a-h][a-h][a-h]`, ok: true},
		{pattern: `[a-z]`, ok: true},
		{pattern: `(?i)[a-z]`, ok: true, inputs: []string{"\u212a", "\u017f"}},
		{pattern: `\w`, ok: true},
		{pattern: `(?i)\w`, ok: false},
		{pattern: `x\x{FFFD}y`, ok: false}, // Coraza reads \x{FF…} as byte 0xFF: binaryregexp
		{pattern: strings.Join(words, "|"), ok: true},
		{pattern: `(?i)(?:` + strings.Join(words, "|") + `)x`, ok: true},
		{pattern: `\xff`, ok: false},
		{pattern: `\x{c3}abc`, ok: false},
		{pattern: `\\x80abc`, ok: false},
		{pattern: `\x7fabc`, ok: true},
		{pattern: `(?sm)^(?:GET|POST) /`, ok: true},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			lits, ok, err := Required(tc.pattern)
			if err != nil {
				t.Fatalf("Required(%q): %v", tc.pattern, err)
			}
			if ok != tc.ok {
				t.Fatalf("Required(%q) ok = %v (lits %q), want %v", tc.pattern, ok, lits, tc.ok)
			}
			checkLits(t, tc.pattern, lits)
			if tc.lits != nil && !slices.Equal(lits, tc.lits) && !(len(lits) == 0 && len(tc.lits) == 0) {
				t.Errorf("Required(%q) = %q, want %q", tc.pattern, lits, tc.lits)
			}
			if !ok {
				return
			}
			r := rand.New(rand.NewSource(1))
			for _, s := range tc.inputs {
				if !regexp.MustCompile(tc.pattern).MatchString(s) {
					t.Errorf("test input %q does not match %q", s, tc.pattern)
				}
			}
			soundOn(t, r, tc.pattern, lits, sample(3000), tc.inputs)
		})
	}
}

func TestRequiredError(t *testing.T) {
	for _, p := range []string{`(abc`, `a**`, `[z-a]`, `\8`, "\xff"} {
		if _, ok, err := Required(p); err == nil || ok {
			t.Errorf("Required(%q) = ok %v, err %v; want an error", p, ok, err)
		} else if !errors.Is(err, err) || !strings.Contains(err.Error(), "rxfilter") {
			t.Errorf("Required(%q) error %q lacks context", p, err)
		}
	}
}

// TestRequiredCRS checks every CRS @rx pattern against thousands of
// generated matching strings and every regression-test payload.
func TestRequiredCRS(t *testing.T) {
	rules, _, payloads := loadCRS(t)
	n := sample(1500)
	r := rand.New(rand.NewSource(42))
	okCount, matched := 0, 0
	for _, rule := range rules {
		lits, ok, err := Required(rule.Pattern)
		if err != nil {
			t.Errorf("rule %s: %v", rule.ID, err)
			continue
		}
		if !ok {
			continue
		}
		okCount++
		checkLits(t, rule.Pattern, lits)
		matched += soundOn(t, r, rule.Pattern, lits, n, nil)
	}
	t.Logf("%d CRS rx operators, %d with literals; %d generated strings matched and contained a literal", len(rules), okCount, matched)
	if matched < okCount*n/2 {
		t.Errorf("the generator made too few matching strings: %d", matched)
	}
	_ = payloads
}

// TestRequiredCRSRegression runs every CRS rx pattern on every payload of
// the CRS regression tests: whenever the regex matches, a literal occurs.
func TestRequiredCRSRegression(t *testing.T) {
	rules, _, payloads := loadCRS(t)
	payloads = payloads[:sample(len(payloads))]
	matches := 0
	for _, rule := range rules {
		lits, ok, err := Required(rule.Pattern)
		if err != nil || !ok {
			continue
		}
		re := regexp.MustCompile(rule.Pattern)
		for _, p := range payloads {
			if !re.MatchString(p) {
				continue
			}
			matches++
			if !containsAny(p, lits) {
				t.Errorf("UNSOUND: rule %s (%q) matches payload %q but contains none of %q", rule.ID, rule.Pattern, p, lits)
			}
		}
	}
	t.Logf("%d payloads; %d (rule, payload) matches, each with a literal", len(payloads), matches)
	if matches < sample(1000) {
		t.Errorf("only %d matches: payload extraction broken?", matches)
	}
}

// TestSelectivity reports how many CRS rules get literals and how many of
// those a benign browser request's values would still run.
func TestSelectivity(t *testing.T) {
	rules, _, _ := loadCRS(t)
	var all []string
	var owner []int
	var withLits []int
	for i, rule := range rules {
		lits, ok, err := Required(rule.Pattern)
		if err != nil || !ok {
			continue
		}
		withLits = append(withLits, i)
		for _, l := range lits {
			all = append(all, l)
			owner = append(owner, i)
		}
	}
	m, err := NewMatcher(all)
	if err != nil {
		t.Fatal(err)
	}
	hits := make([]uint64, (m.Len()+63)/64)
	for _, v := range benignValues {
		m.Find(v, hits)
	}
	hitRule := map[int]bool{}
	for id := range all {
		if hits[id/64]&(1<<(id%64)) != 0 {
			hitRule[owner[id]] = true
		}
	}
	// The matcher's answer per rule must equal the naive one.
	for _, i := range withLits {
		lits, _, _ := Required(rules[i].Pattern)
		naive := false
		for _, v := range benignValues {
			naive = naive || containsAny(v, lits)
		}
		if naive != hitRule[i] {
			t.Errorf("rule %s: matcher says %v, naive %v", rules[i].ID, hitRule[i], naive)
		}
	}
	var names []string
	for i := range hitRule {
		names = append(names, rules[i].ID)
	}
	slices.Sort(names)
	t.Logf("%d rx operators, %d with literals (%d literals); a benign request's %d values hit the literals of %d: %v",
		len(rules), len(withLits), len(all), len(benignValues), len(hitRule), names)
	// The attack-detection families the screen evaluates: 930–944, 950–956.
	attack := func(id string) bool {
		return id >= "930" && id < "945" || id >= "950" && id < "957"
	}
	nAttack, okAttack, hitAttack := 0, 0, 0
	for i, rule := range rules {
		if !attack(rule.ID) {
			continue
		}
		nAttack++
		if slices.Contains(withLits, i) {
			okAttack++
		}
		if hitRule[i] {
			hitAttack++
		}
	}
	t.Logf("attack families (930–944, 950–956): %d rx operators, %d with literals, %d hit by the benign request",
		nAttack, okAttack, hitAttack)
	if okAttack*10 < nAttack*8 {
		t.Errorf("only %d of %d attack rx operators have literals", okAttack, nAttack)
	}
}

// TestCorazaPreFilterMisses: the payloads on which Coraza's experimental
// SecRxPreFilter loses a CRS detection (tests 942220-2 and 932311-7) match
// their rule's regexp and hold one of Required's literals.
func TestCorazaPreFilterMisses(t *testing.T) {
	rules, _, _ := loadCRS(t)
	tests, err := crstest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ test, rule string }{{"942220-2", "942220"}, {"932311-7", "932311"}} {
		var pattern string
		for _, r := range rules {
			if r.ID == want.rule {
				pattern = r.Pattern
			}
		}
		var vals []string
		for _, tc := range tests {
			if tc.ID == want.test {
				vals = payloads([]crstest.Test{tc})
			}
		}
		if pattern == "" || len(vals) == 0 {
			t.Fatalf("%s: rule or test not found", want.test)
		}
		lits, ok, err := Required(pattern)
		if err != nil || !ok {
			t.Fatalf("Required(rule %s) = ok %v, err %v", want.rule, ok, err)
		}
		matched := 0
		for _, v := range vals {
			if !mustCompile(pattern).MatchString(v) {
				continue
			}
			matched++
			if !containsAny(v, lits) {
				t.Errorf("UNSOUND: test %s: rule %s matches %q, which holds none of %q", want.test, want.rule, v, lits)
			}
		}
		if matched == 0 {
			t.Errorf("test %s: rule %s matches none of its %d values", want.test, want.rule, len(vals))
		}
		t.Logf("test %s: %d values match rule %s; literals %q", want.test, matched, want.rule, lits)
	}
}
