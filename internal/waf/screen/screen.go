// Package screen proves, for most requests, that none of the Core Rule
// Set's detection rules can match them, several times faster than
// Coraza finds out by evaluating each rule.
//
// A Screen stands for the CRS rules it can evaluate exactly as Coraza
// does: rules (or the first step of a chain) of phases 1–4 with a pure
// operator over request and response variables. It works on Coraza's own
// compiled rules (Read): their targets and exclusions, their compiled
// operators and transformation functions. The engine leaves those rules
// out of a lite copy of the rule set and, after each phase of a
// transaction, asks the screen whether any of them could have matched
// (Clean). The screen reads the variables from Coraza's transaction (so
// parsing is Coraza's), applies each distinct transformation sequence
// once per value for all rules sharing it, looks for every rule's
// required literals in one pass (internal/waf/rxfilter, a sound literal
// pre-filter) and runs a rule's operator only when one of its literals
// occurs, or always for operators without literals.
//
// A rule that does not match changes nothing in a Coraza transaction, so
// when Clean answers true for every phase the lite rule set's verdict is
// the full rule set's; when it answers false the engine replays the
// transaction on the full rule set. Clean never answers true when one of
// its rules would match: where it cannot tell (a target removed at run
// time by ctl:ruleRemoveTargetById, a rule skipped by an earlier one) it
// evaluates the rule anyway.
package screen

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/debuglog"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"

	"github.com/kordon-dev/kordon/internal/waf/rxfilter"
)

// Screen stands for a set of CRS rules. It is safe for concurrent use.
type Screen struct {
	ids []int
	// reads[p] are the sources phase p's rules read, each with the
	// groups reading it.
	reads [5][]phaseSource
	// sources are the distinct variable selections of all rules.
	sources []Target
	scratch sync.Pool
	known   verdicts
}

// group is the rules of one phase sharing a transformation sequence (and
// multiMatch): each value is transformed once for all of them.
type group struct {
	id              int32
	transformations []plugintypes.Transformation
	multi           bool
	matcher         *rxfilter.Matcher
	words           int
	// bySource lists, for each source the group's rules read, the rules
	// and the exceptions each applies to it.
	bySource []sourceRules
}

// phaseSource is one source of a phase and every group that reads it.
type phaseSource struct {
	source int
	groups []groupRules
}

type groupRules struct {
	g  *group
	sr sourceRules
}

type sourceRules struct {
	source int
	rules  []ruleRef
}

type ruleRef struct {
	r          *rule
	exceptions []Exception
}

// rule is one screened rule's operator and pre-filter.
type rule struct {
	id int
	op plugintypes.Operator
	// lits are the rule's literal IDs in its group's matcher; when always
	// is set the operator runs on every value.
	lits   []int
	always bool
	// negated: the rule matches a value its operator does not match.
	negated bool
}

// New builds the screen for the rules of the detection paranoia level
// (rules of higher levels are skipped by CRS itself and not screened).
// root is the file system the rules were loaded from (for @pmFromFile's
// data files; nil runs those operators on every value).
func New(rules []Rule, paranoia int, root fs.FS) (*Screen, error) {
	s := &Screen{}
	type sourceKey struct {
		v     variables.RuleVariable
		key   string
		rx    string
		count bool
	}
	srcIndex := map[sourceKey]int{}
	type groupKey struct {
		phase, tid int
		multi      bool
	}
	groups := map[groupKey]*group{}
	// phases[p] are the groups of phase p (1–4).
	var phases [5][]*group
	groupLits := map[*group][]string{}
	for i := range rules {
		r := &rules[i]
		if r.ID == 0 || r.Paranoia == 0 || r.Paranoia > paranoia {
			continue
		}
		if eligible(r) != "" {
			continue
		}
		lits, always, err := literals(r, root)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", r.ID, err)
		}
		k := groupKey{r.Phase, r.TransformationsID, r.MultiMatch}
		g := groups[k]
		if g == nil {
			g = &group{id: int32(len(groups)), transformations: r.Transformations, multi: r.MultiMatch}
			groups[k] = g
			phases[r.Phase] = append(phases[r.Phase], g)
		}
		if r.Negated {
			// A negated rule matches the values without its literals:
			// its operator runs on every value.
			lits, always = nil, true
		}
		sr := &rule{id: r.ID, op: r.Operator, always: always, negated: r.Negated}
		for _, l := range lits {
			sr.lits = append(sr.lits, len(groupLits[g]))
			groupLits[g] = append(groupLits[g], l)
		}
		for _, t := range r.Targets {
			sk := sourceKey{v: t.Variable, key: t.Key, count: t.Count}
			if t.KeyRx != nil {
				sk.rx = t.KeyRx.String()
			}
			si, ok := srcIndex[sk]
			if !ok {
				si = len(s.sources)
				srcIndex[sk] = si
				s.sources = append(s.sources, Target{Variable: t.Variable, Key: t.Key, KeyRx: t.KeyRx, Count: t.Count})
			}
			j := slices.IndexFunc(g.bySource, func(x sourceRules) bool { return x.source == si })
			if j < 0 {
				j = len(g.bySource)
				g.bySource = append(g.bySource, sourceRules{source: si})
			}
			// Counted targets count after the exceptions: their own
			// source, never shared with others' exceptions.
			g.bySource[j].rules = append(g.bySource[j].rules, ruleRef{r: sr, exceptions: t.Exceptions})
		}
		s.ids = append(s.ids, r.ID)
	}
	for p, gs := range phases {
		for _, g := range gs {
			for _, sr := range g.bySource {
				j := slices.IndexFunc(s.reads[p], func(x phaseSource) bool { return x.source == sr.source })
				if j < 0 {
					j = len(s.reads[p])
					s.reads[p] = append(s.reads[p], phaseSource{source: sr.source})
				}
				s.reads[p][j].groups = append(s.reads[p][j].groups, groupRules{g: g, sr: sr})
			}
		}
	}
	s.ids = append(s.ids, Unreachable(rules, paranoia)...)
	for g, lits := range groupLits {
		m, err := rxfilter.NewMatcher(lits)
		if err != nil {
			return nil, fmt.Errorf("literal matcher: %w", err)
		}
		g.matcher, g.words = m, (m.Len()+63)/64
	}
	slices.Sort(s.ids)
	s.ids = slices.Compact(s.ids)
	return s, nil
}

// Unreachable returns the rules CRS never evaluates at the detection
// paranoia level: its level checks (SecRule
// TX:DETECTION_PARANOIA_LEVEL "@lt N" ... skipAfter:END-...) and the
// rules of their phase between a check that skips (N above the level)
// and its marker. Kordon sets the level once per engine, so the checks
// answer the same on every request; leaving them out saves evaluating
// about 180 of them per request. rules must be in the order Coraza loaded
// them, markers included.
func Unreachable(rules []Rule, paranoia int) []int {
	var out []int
	for i := range rules {
		g := &rules[i]
		n, ok := levelCheck(g)
		if !ok {
			continue
		}
		out = append(out, g.ID)
		if n <= paranoia {
			// Never true: it skips nothing.
			continue
		}
		for j := i + 1; j < len(rules); j++ {
			r := &rules[j]
			if r.SecMark == g.SkipAfter {
				break
			}
			if r.ID != 0 && r.Phase == g.Phase {
				out = append(out, r.ID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// levelCheck returns N of a CRS paranoia level check (a rule skipping to
// a marker when TX:DETECTION_PARANOIA_LEVEL is below N, with no other
// target).
func levelCheck(r *Rule) (int, bool) {
	if r.ID == 0 || r.SkipAfter == "" || r.Chained || r.Negated || r.OperatorName != "@lt" || len(r.Targets) != 1 {
		return 0, false
	}
	t := r.Targets[0]
	if t.Variable != variables.TX || t.Count || t.KeyRx != nil || !strings.EqualFold(t.Key, "detection_paranoia_level") || len(r.Transformations) > 0 {
		return 0, false
	}
	n, err := strconv.Atoi(r.OperatorData)
	if err != nil {
		return 0, false
	}
	return n, true
}

// RuleIDs are the rules the screen stands for, ascending.
func (s *Screen) RuleIDs() []int { return s.ids }

// literals returns the literals one of which a value must contain for
// r's operator to match it, or always when the operator has to run on
// every value. Data files of @pmFromFile are read from root.
func literals(r *Rule, root fs.FS) (lits []string, always bool, err error) {
	switch strings.TrimPrefix(r.OperatorName, "!") {
	case "@rx":
		// As Coraza compiles @rx (internal/operators/rx.go).
		l, ok, err := required("(?sm)" + r.OperatorData)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, true, nil
		}
		return l, false, nil
	case "@pm":
		// Coraza's phrases: the argument lowercased, split at spaces.
		return phrases(strings.Split(strings.ToLower(r.OperatorData), " "))
	case "@pmFromFile":
		if root == nil || path.IsAbs(r.OperatorData) {
			return nil, true, nil
		}
		// Coraza reads the file beside the rule's, one phrase a line,
		// trimmed and lowercased, without empty lines and comments.
		data, err := fs.ReadFile(root, path.Join(path.Dir(r.File), r.OperatorData))
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", r.OperatorData, err)
		}
		var ps []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if l == "" || l[0] == '#' {
				continue
			}
			ps = append(ps, strings.ToLower(l))
		}
		if sc.Err() != nil {
			// Coraza stops at the same line: a superset is still sound,
			// but say so rather than guess.
			return nil, true, nil
		}
		return phrases(ps)
	case "@contains", "@streq", "@beginsWith", "@endsWith":
		// A matching value holds the argument (case-sensitively; the
		// pre-filter compares ASCII letters case-insensitively, a
		// superset).
		return phrases([]string{r.OperatorData})
	}
	return nil, true, nil
}

// requiredMemo holds rxfilter.Required's answers by pattern: every
// engine of a process compiles the same CRS patterns.
var requiredMemo sync.Map

type requiredAnswer struct {
	lits []string
	ok   bool
	err  error
}

// required is rxfilter.Required, remembered.
func required(pattern string) ([]string, bool, error) {
	if a, ok := requiredMemo.Load(pattern); ok {
		a := a.(requiredAnswer)
		return a.lits, a.ok, a.err
	}
	lits, ok, err := rxfilter.Required(pattern)
	requiredMemo.Store(pattern, requiredAnswer{lits, ok, err})
	return lits, ok, err
}

// phrases returns ps as literals, or always when one is empty (it occurs
// in every value).
func phrases(ps []string) (lits []string, always bool, err error) {
	if len(ps) == 0 || slices.Contains(ps, "") {
		return nil, true, nil
	}
	return ps, false, nil
}

// pureOperators are the operators whose result depends on the value
// alone (no transaction state, no side effect but capturing, which the
// screen turns off).
var pureOperators = map[string]bool{
	"@rx": true, "@pm": true, "@pmFromFile": true, "@contains": true, "@containsWord": true,
	"@streq": true, "@strmatch": true, "@beginsWith": true, "@endsWith": true, "@within": true,
	"@eq": true, "@ge": true, "@gt": true, "@le": true, "@lt": true,
	"@validateByteRange": true, "@validateUrlEncoding": true, "@validateUtf8Encoding": true,
	"@detectSQLi": true, "@detectXSS": true,
}

// screenedVariables are the variables the screen reads: request and
// response data that no rule changes, fixed once Coraza has parsed them
// for the phase.
var screenedVariables = map[variables.RuleVariable]bool{
	variables.Args: true, variables.ArgsGet: true, variables.ArgsPost: true, variables.ArgsNames: true,
	variables.ArgsGetNames: true, variables.ArgsPostNames: true,
	variables.RequestCookies: true, variables.RequestCookiesNames: true, variables.RequestHeaders: true,
	variables.RequestHeadersNames: true, variables.RequestFilename: true, variables.RequestBasename: true,
	variables.RequestURI: true, variables.RequestURIRaw: true, variables.RequestLine: true,
	variables.RequestMethod: true, variables.RequestProtocol: true, variables.QueryString: true,
	variables.RequestBody: true, variables.XML: true, variables.Files: true, variables.FilesNames: true,
	variables.MultipartPartHeaders: true, variables.ResponseBody: true, variables.ResponseHeaders: true,
	variables.ResponseHeadersNames: true, variables.ResponseStatus: true,
}

// eligible returns why r cannot be screened, "" when it can be.
func eligible(r *Rule) string {
	switch {
	case r.Phase < 1 || r.Phase > 4:
		return fmt.Sprintf("phase %d", r.Phase)
	case r.Chained:
		// The first steps of CRS's chains mostly match benign requests
		// (GET without a body, a Content-Type, every header name): the
		// later steps, over the transaction's state, decide.
		return "a chain"
	case r.Operator == nil:
		return "no operator"
	case !pureOperators[strings.TrimPrefix(r.OperatorName, "!")]:
		return "operator " + r.OperatorName
	case strings.Contains(r.OperatorData, "%{"):
		return "operator argument with a macro"
	case len(r.Targets) == 0:
		return "no target"
	}
	for _, t := range r.Targets {
		if !screenedVariables[t.Variable] {
			return "reads " + t.Variable.Name()
		}
		if t.Count && len(t.Exceptions) > 0 {
			return "counts " + t.Variable.Name() + " with exclusions"
		}
	}
	return ""
}

// scratch is one Clean call's working memory.
type scratch struct {
	hits  []uint64
	multi []string
}

// Clean reports whether none of the screened rules of phase can match the
// transaction in its state after that phase.
func (s *Screen) Clean(phase int, tx plugintypes.TransactionState) bool {
	if phase < 1 || phase > 4 {
		return false
	}
	sc, _ := s.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer s.scratch.Put(sc)
	for _, ps := range s.reads[phase] {
		for _, md := range s.read(tx, ps.source) {
			k := verdictKey{phase: int8(phase), source: int32(ps.source), key: md.Key(), value: md.Value()}
			cache := cacheable(k.key, k.value)
			if cache && s.known.clean(k) {
				continue
			}
			for _, gr := range ps.groups {
				g := gr.g
				if cap(sc.hits) < g.words {
					sc.hits = make([]uint64, g.words)
				}
				hits := sc.hits[:g.words]
				if g.multi {
					sc.multi = transformAll(g.transformations, md.Value(), sc.multi[:0])
					for _, v := range sc.multi {
						if !clean(g, gr.sr, md.Key(), v, hits, tx) {
							return false
						}
					}
				} else if !clean(g, gr.sr, md.Key(), transform(g.transformations, md.Value()), hits, tx) {
					return false
				}
			}
			if cache {
				s.known.add(k)
			}
		}
	}
	return true
}

// clean reports whether no rule of sr matches the transformed value v of
// the variable with key.
func clean(g *group, sr sourceRules, key, v string, hits []uint64, tx plugintypes.TransactionState) bool {
	found := false
	for _, ref := range sr.rules {
		r := ref.r
		if !r.always {
			if !found {
				clear(hits)
				g.matcher.Find(v, hits)
				found = true
			}
			if !anyHit(r.lits, hits) {
				continue
			}
		}
		if excepted(ref.exceptions, key) {
			continue
		}
		if r.op.Evaluate(quiet{tx}, v) != r.negated {
			return false
		}
	}
	return true
}

// quiet is a transaction whose operators do not capture: the screen's
// evaluation leaves the transaction as it was.
type quiet struct{ plugintypes.TransactionState }

func (quiet) Capturing() bool                { return false }
func (quiet) CaptureField(int, string)       {}
func (quiet) Interrupt(*types.Interruption)  {}
func (q quiet) DebugLogger() debuglog.Logger { return q.TransactionState.DebugLogger() }

// transform applies transformations to v as Coraza does for a rule
// without multiMatch: in order, a failing one leaving the value as it
// was.
func transform(ts []plugintypes.Transformation, v string) string {
	for _, t := range ts {
		if out, _, err := t(v); err == nil {
			v = out
		}
	}
	return v
}

// transformAll appends to dst the values Coraza hands the operator of a
// rule with multiMatch: the value, then each transformation's result
// that changed it.
func transformAll(ts []plugintypes.Transformation, v string, dst []string) []string {
	dst = append(dst, v)
	for _, t := range ts {
		out, changed, err := t(v)
		if err != nil {
			continue
		}
		if changed {
			dst = append(dst, out)
			v = out
		}
	}
	return dst
}

func anyHit(lits []int, hits []uint64) bool {
	for _, l := range lits {
		if hits[l>>6]&(1<<(l&63)) != 0 {
			return true
		}
	}
	return false
}

// excepted reports whether an exception removes the value with key, as
// Coraza's GetField decides it.
func excepted(exs []Exception, key string) bool {
	if len(exs) == 0 {
		return false
	}
	lkey := strings.ToLower(key)
	for _, ex := range exs {
		if ex.KeyRx != nil {
			if ex.KeyRx.MatchString(lkey) {
				return true
			}
		} else if ex.Key == "" || strings.ToLower(ex.Key) == lkey {
			return true
		}
	}
	return false
}

// read returns the values of source i as Coraza's GetField selects them
// (before exceptions; a count as one value).
func (s *Screen) read(tx plugintypes.TransactionState, i int) []types.MatchData {
	src := s.sources[i]
	col := tx.Collection(src.Variable)
	if col == nil {
		return nil
	}
	var mds []types.MatchData
	switch {
	case src.KeyRx != nil:
		if k, ok := col.(collection.Keyed); ok {
			mds = k.FindRegex(src.KeyRx)
		}
	case src.Key != "":
		if k, ok := col.(collection.Keyed); ok {
			mds = k.FindString(src.Key)
		}
	default:
		mds = col.FindAll()
	}
	if src.Count {
		return []types.MatchData{countData(strconv.Itoa(len(mds)))}
	}
	return mds
}

// countData is a counted selection's one value.
type countData string

func (c countData) Variable() variables.RuleVariable { return variables.Unknown }
func (c countData) Key() string                      { return "" }
func (c countData) Value() string                    { return string(c) }
func (c countData) Message() string                  { return "" }
func (c countData) Data() string                     { return "" }
func (c countData) ChainLevel() int                  { return 0 }
