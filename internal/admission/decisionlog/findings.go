package decisionlog

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
)

// maxLineErrors bounds the malformed lines reported one by one per log;
// the rest are counted in one more error.
const maxLineErrors = 100

// Options choose the decisions and violations that become findings.
type Options struct {
	// Catalogue gives every finding its title, severity, controls and
	// remediation; required. A violation of a check it lacks is an error.
	Catalogue *rules.Catalogue
	// Actions keeps violations with these actions; empty keeps all.
	Actions []config.Action
	// Since keeps decisions made at or after it; zero keeps all. With
	// Since set, a decision line without a time is an error.
	Since time.Time
	// Rules keeps violations of these checks of the catalogue; nil keeps
	// every check's.
	Rules []*rules.Rule
}

// Collector turns the violations recorded in decision logs into findings:
// one per distinct violation (check, action, rule binding, object and
// message), however many decisions repeated it, with its action, binding
// and count in the message. It is not safe for concurrent use.
type Collector struct {
	opts    Options
	keep    map[*rules.Rule]bool // nil: every rule
	entries map[entryKey]*entry
	objects map[finding.Resource]bool
	checks  map[*rules.Rule]bool

	errs     []finding.Problem
	unknown  map[string]*counted // by rule ID as logged
	noTime   map[string]*counted // by file
	failures map[problemKey]*counted
}

type entryKey struct {
	rule     *rules.Rule
	action   config.Action
	source   string
	resource finding.Resource
	message  string
}

// entry is one distinct violation and the decisions that recorded it.
type entry struct {
	id          string // as first logged (an ID or alias)
	check       *rules.Rule
	rule        Rule
	resource    finding.Resource
	decisions   map[string]bool // by uid, or file:line for lines without one
	first, last time.Time
}

// counted is a problem reported once, with how many lines had it.
type counted struct {
	problem finding.Problem
	n       int
}

type problemKey struct {
	resource finding.Resource
	message  string
}

// NewCollector returns a Collector; opts.Catalogue must be set.
func NewCollector(opts Options) *Collector {
	c := &Collector{
		opts:     opts,
		entries:  map[entryKey]*entry{},
		objects:  map[finding.Resource]bool{},
		checks:   map[*rules.Rule]bool{},
		unknown:  map[string]*counted{},
		noTime:   map[string]*counted{},
		failures: map[problemKey]*counted{},
	}
	if opts.Rules != nil {
		c.keep = make(map[*rules.Rule]bool, len(opts.Rules))
		for _, r := range opts.Rules {
			c.keep[r] = true
		}
	}
	return c
}

// Read reads one log; file names it in problems ("-" for standard input).
// Lines it cannot use become errors of the Input and reading goes on; the
// only error returned is the reader's (the log could not be read to its
// end; what was read before counts).
func (c *Collector) Read(r io.Reader, file string) error {
	lr := NewReader(r, file)
	lineErrors := 0
	defer func() {
		if lineErrors > maxLineErrors {
			c.errs = append(c.errs, finding.Problem{File: file,
				Message: fmt.Sprintf("%d more malformed lines not listed", lineErrors-maxLineErrors)})
		}
	}()
	for {
		l, err := lr.Next()
		var le *LineError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &le):
			if lineErrors++; lineErrors <= maxLineErrors {
				c.errs = append(c.errs, finding.Problem{File: le.File, Line: le.Line, Message: le.Err.Error()})
			}
			continue
		case err != nil:
			return fmt.Errorf("read %s: %w", file, err)
		}
		c.add(l, file, lr.Line())
	}
}

// add records one decision line.
func (c *Collector) add(l *Line, file string, line int) {
	if !c.opts.Since.IsZero() {
		if l.Time.IsZero() {
			count(c.noTime, file, finding.Problem{File: file, Line: line,
				Message: "decision line without a time: the time filter (--since) cannot apply to it, so it is left out"})
			return
		}
		if l.Time.Before(c.opts.Since) {
			return
		}
	}
	res := l.Resource()
	if l.Result == "error" && l.Error != "" {
		c.fail(res, file, line, "the webhook could not decide: "+l.Error)
	}
	for _, msg := range l.RuleErrors {
		c.fail(res, file, line, "the webhook could not evaluate a rule: "+msg)
	}
	if !l.Judged() {
		return
	}
	c.objects[res] = true
	for _, v := range l.Rules {
		if len(c.opts.Actions) > 0 && !slices.Contains(c.opts.Actions, v.Action) {
			continue
		}
		rule, ok := c.opts.Catalogue.Lookup(v.ID)
		if !ok {
			count(c.unknown, v.ID, finding.Problem{File: file, Line: line, RuleID: v.ID, Resource: &res,
				Message: fmt.Sprintf("check %s is not in the rule catalogue (a custom rule? add its folder with --rules)", v.ID)})
			continue
		}
		if c.keep != nil && !c.keep[rule] {
			continue
		}
		k := entryKey{rule: rule, action: v.Action, source: v.Source, resource: res, message: v.Message}
		e := c.entries[k]
		if e == nil {
			e = &entry{id: v.ID, check: rule, rule: v, resource: res, decisions: map[string]bool{}}
			c.entries[k] = e
		}
		id := l.UID
		if id == "" { // each line is a decision of its own
			id = fmt.Sprintf("%s:%d", file, line)
		}
		e.decisions[id] = true
		if !l.Time.IsZero() {
			if e.first.IsZero() || l.Time.Before(e.first) {
				e.first = l.Time
			}
			if l.Time.After(e.last) {
				e.last = l.Time
			}
		}
		c.checks[rule] = true
	}
}

// fail records a check the webhook could not decide, once per object and
// message.
func (c *Collector) fail(res finding.Resource, file string, line int, msg string) {
	r := res
	count(c.failures, problemKey{res, msg}, finding.Problem{File: file, Line: line, Resource: &r, Message: msg})
}

// count records a problem under key, keeping the first occurrence.
func count[K comparable](m map[K]*counted, key K, p finding.Problem) {
	if e := m[key]; e != nil {
		e.n++
		return
	}
	m[key] = &counted{problem: p, n: 1}
}

// Input returns what the logs read so far hold, for pipeline.Build: the
// findings, the lines that could not be used (errors) and the decisions
// the webhook could not make (warnings). Resources is the number of
// distinct objects judged; Checks the number of checks with findings.
// Decision logs record no passed checks, so there are no tallies (and no
// compliance scores).
func (c *Collector) Input() pipeline.Input {
	in := pipeline.Input{Resources: len(c.objects), Checks: len(c.checks)}
	for _, e := range c.entries {
		f, err := c.opts.Catalogue.Finding(e.id, rules.Outcome{
			Resource: e.resource, Failed: true, Message: e.message(), Remediation: e.rule.Remediation,
		})
		if err != nil { // cannot happen: the check was looked up in this catalogue
			in.Errors = append(in.Errors, finding.Problem{RuleID: e.id, Message: err.Error()})
			continue
		}
		in.Findings = append(in.Findings, f)
	}
	in.Errors = append(in.Errors, c.errs...)
	in.Errors = append(in.Errors, counts(c.unknown, "decision lines name it")...)
	in.Errors = append(in.Errors, counts(c.noTime, "decision lines in this log have no time")...)
	sortProblems(in.Errors)
	in.Warnings = counts(c.failures, "decisions")
	sortProblems(in.Warnings)
	return in
}

// counts returns the counted problems, each saying how many lines had it
// when more than one.
func counts[K comparable](m map[K]*counted, what string) []finding.Problem {
	out := make([]finding.Problem, 0, len(m))
	for _, e := range m {
		p := e.problem
		if e.n > 1 {
			p.Message += fmt.Sprintf(" (%d %s; the first is listed)", e.n, what)
		}
		out = append(out, p)
	}
	return out
}

// sortProblems orders problems by file and line (problems without a line,
// such as the count of malformed lines not listed, last in their file).
func sortProblems(ps []finding.Problem) {
	slices.SortStableFunc(ps, func(a, b finding.Problem) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = math.MaxInt
		}
		if lb == 0 {
			lb = math.MaxInt
		}
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(la, lb), cmp.Compare(a.Message, b.Message))
	})
}

// message is the logged message with the action, where it came from and
// how often and when it was seen:
//
//	privileged containers: "shell" (audit, binding pss-audit; seen 3 times between 2026-03-14T09:00:00Z and 2026-03-14T10:12:00Z)
func (e *entry) message() string {
	msg := e.rule.Message
	if msg == "" {
		msg = e.check.Title
	}
	source := "binding " + e.rule.Source
	switch e.rule.Source {
	case "governance":
		source = "governance"
	case "":
		source = "source unknown"
	}
	seen := "seen once"
	if n := len(e.decisions); n > 1 {
		seen = fmt.Sprintf("seen %d times", n)
	}
	const stamp = time.RFC3339
	switch {
	case e.first.IsZero():
	case e.first.Equal(e.last) || e.first.Truncate(time.Second).Equal(e.last.Truncate(time.Second)):
		seen += " at " + e.first.UTC().Format(stamp)
	default:
		seen += " between " + e.first.UTC().Format(stamp) + " and " + e.last.UTC().Format(stamp)
	}
	return fmt.Sprintf("%s (%s, %s; %s)", msg, e.rule.Action, source, seen)
}
