package transform

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// The differential harness: a test-only operator, kordonCapture, records every value Coraza's
// rule engine hands it (keyed by the operator's argument, the rule's index) and never matches.

var capture = struct {
	sync.Mutex
	values map[int][]string
}{values: map[int][]string{}}

type captureOperator struct{ rule int }

func (o captureOperator) Evaluate(_ plugintypes.TransactionState, v string) bool {
	capture.Lock()
	capture.values[o.rule] = append(capture.values[o.rule], v)
	capture.Unlock()
	return false
}

func init() {
	plugins.RegisterOperator("kordonCapture", func(opts plugintypes.OperatorOptions) (plugintypes.Operator, error) {
		n, err := strconv.Atoi(strings.TrimSpace(opts.Arguments))
		if err != nil {
			return nil, fmt.Errorf("kordonCapture argument: %w", err)
		}
		return captureOperator{rule: n}, nil
	})
}

// oracleRule is one rule of the oracle WAF: a t: list, with or without multiMatch.
type oracleRule struct {
	names []string
	multi bool
	chain *Chain
}

// oracle is a Coraza WAF whose rules capture what each t: list makes of ARGS_GET:x.
type oracle struct {
	waf   coraza.WAF
	rules []oracleRule
}

// newOracle builds the oracle for the given t: lists, each with and without multiMatch, after
// a first rule with t:none alone (which must hand back the input unchanged).
func newOracle(t testing.TB, lists [][]string) *oracle {
	t.Helper()
	o := &oracle{}
	var sb strings.Builder
	add := func(names []string, multi bool) {
		c, err := Compile(names)
		if err != nil {
			t.Fatalf("Compile(%q): %v", names, err)
		}
		idx := len(o.rules)
		o.rules = append(o.rules, oracleRule{names: names, multi: multi, chain: c})
		acts := ""
		for _, n := range names {
			acts += ",t:" + n
		}
		if multi {
			acts += ",multiMatch"
		}
		fmt.Fprintf(&sb, "SecRule ARGS_GET:x \"@kordonCapture %d\" \"id:%d,phase:1,pass,nolog%s\"\n", idx, 100000+idx, acts)
	}
	add([]string{"none"}, false)
	for _, l := range lists {
		add(l, false)
		add(l, true)
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(sb.String()))
	if err != nil {
		t.Fatalf("build oracle WAF: %v", err)
	}
	o.waf = waf
	return o
}

// run feeds the values to Coraza, as arguments all named x of one request, and returns what
// each rule's operator was handed, in order.
func (o *oracle) run(t testing.TB, vs ...string) map[int][]string {
	t.Helper()
	capture.Lock()
	capture.values = map[int][]string{}
	capture.Unlock()
	tx := o.waf.NewTransaction()
	for _, v := range vs {
		tx.AddGetRequestArgument("x", v)
	}
	tx.ProcessRequestHeaders()
	if err := tx.Close(); err != nil {
		t.Fatalf("close transaction: %v", err)
	}
	capture.Lock()
	defer capture.Unlock()
	return capture.values
}

// check compares Apply and ApplyMulti with Coraza for v on every rule of o and reports each
// difference; it returns the number of comparisons.
func (o *oracle) check(t testing.TB, v string) int { return o.checkBatch(t, []string{v}) }

// checkBatch is check for several values at once, all in one request (which also exercises
// Coraza's per-request transformation cache, keyed by the values' positions).
func (o *oracle) checkBatch(t testing.TB, vs []string) int {
	t.Helper()
	got := o.run(t, vs...)
	if g := got[0]; !equalStrings(g, vs) {
		t.Fatalf("t:none: Coraza handed %q for %q; the harness cannot observe transformations", g, vs)
	}
	for i, r := range o.rules[1:] {
		i++
		var want []string
		for _, v := range vs {
			if r.multi {
				want = r.chain.ApplyMulti(v, want)
			} else {
				want = append(want, r.chain.Apply(v))
			}
		}
		if !equalStrings(got[i], want) {
			mode := "Apply"
			if r.multi {
				mode = "ApplyMulti"
			}
			t.Errorf("%s %q on %q:\n got  %q\n want %q (Coraza)", mode, r.names, vs, want, got[i])
		}
	}
	return (len(o.rules) - 1) * len(vs)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// singles are the t: lists of one transformation each: every name Lookup knows.
func singles() [][]string {
	var out [][]string
	for _, n := range implementedNames() {
		out = append(out, []string{"none", n})
	}
	return out
}

func implementedNames() []string {
	var names []string
	for _, e := range registry {
		if e.name != "none" {
			names = append(names, e.name)
		}
	}
	sort.Strings(names)
	return slicesCompact(names)
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// crsDir is the CRS v4.25.0 module's directory in the module cache.
func crsDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("GOMODCACHE")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no module cache: %v", err)
		}
		root = filepath.Join(home, "go", "pkg", "mod")
	}
	dir := filepath.Join(root, "github.com", "corazawaf", "coraza-coreruleset", "v4@v4.25.0")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("CRS module not in the module cache: %v", err)
	}
	return dir
}

var (
	tActionRE  = regexp.MustCompile(`\bt:['"]?([A-Za-z0-9]+)`)
	multiRE    = regexp.MustCompile(`\bmultiMatch\b`)
	secRuleRE  = regexp.MustCompile(`^\s*SecRule\b`)
	contLineRE = regexp.MustCompile(`\\\s*\n`)
)

// crsChains returns every distinct t: list of a SecRule in CRS v4.25.0's rule files (a rough
// parse of the .conf text), and how many of them use multiMatch.
func crsChains(t testing.TB) (lists [][]string, multi int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crsDir(t), "rules", "@owasp_crs", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("find CRS rule files: %v (%d files)", err, len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		text := contLineRE.ReplaceAllString(string(b), " ")
		for _, line := range strings.Split(text, "\n") {
			if !secRuleRE.MatchString(line) {
				continue
			}
			var names []string
			for _, m := range tActionRE.FindAllStringSubmatch(line, -1) {
				names = append(names, m[1])
			}
			if len(names) == 0 {
				continue
			}
			key := strings.Join(names, ",")
			if seen[key] {
				continue
			}
			seen[key] = true
			lists = append(lists, names)
			if multiRE.MatchString(line) {
				multi++
			}
		}
	}
	return lists, multi
}
