package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kordon-dev/kordon/internal/finding"
)

// ANSI styles used by the table format.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
	ansiBgRed  = "\x1b[1;97;41m"
)

const (
	defaultWidth = 100
	minWidth     = 60
	sevWidth     = len("CRITICAL")
	barCells     = 20
)

// tableWriter renders the human-readable report.
type tableWriter struct {
	w     *errWriter
	color bool
	width int
	// wrapped remembers wrapped remediation texts: a rule's remediation is
	// the same on every finding.
	wrapped map[string][]string
	// rules documents rules; the table groups findings by their causes.
	rules map[string]RuleDoc
}

// errWriter remembers the first write error so rendering code can stay
// linear; later writes are skipped.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func writeTable(w io.Writer, r *finding.Report, opts Options) error {
	// Text from manifests must not drive the terminal: escape sequences in
	// a message could recolour, move the cursor or rewrite earlier lines.
	// The finding lists may be the caller's: rewrite copies.
	safe := *r
	safe.Findings, safe.Suppressed = cloneFindings(r.Findings), cloneFindings(r.Suppressed)
	r = &safe
	mapStrings(r, terminalSafe)
	opts.Target = terminalSafe(opts.Target)
	t := &tableWriter{w: &errWriter{w: w}, color: opts.Color, width: opts.Width, rules: opts.Rules}
	if t.width == 0 {
		t.width = defaultWidth
	}
	t.width = max(t.width, minWidth)
	t.header(r, opts)
	t.findings(r.Findings)
	t.summary(r)
	t.scores(r.Scores)
	t.problems("Errors", "✗", ansiRed, r.Errors)
	t.problems("Warnings", "!", ansiYellow, r.Warnings)
	t.expired(r.ExpiredExceptions)
	t.suppressed(r.Suppressed)
	return t.w.err
}

// style wraps s in an ANSI style when colour is on.
func (t *tableWriter) style(code, s string) string {
	if !t.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

func severityStyle(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return ansiBgRed
	case finding.High:
		return ansiBold + ansiRed
	case finding.Medium:
		return ansiYellow
	case finding.Low:
		return ansiCyan
	default:
		return ansiDim
	}
}

func (t *tableWriter) header(r *finding.Report, opts Options) {
	title := r.Tool.Name + " " + r.Tool.Version
	if opts.Target != "" {
		title += " · " + opts.Target
	}
	t.w.printf("%s\n", t.style(ansiBold, title))
	s := r.Summary
	conf := ""
	if opts.Config != "" {
		conf = " · config " + terminalSafe(opts.Config)
	}
	t.w.printf("%s checked against %s · %s%s\n",
		plural(s.Resources, "resource", "resources"), plural(s.Rules, "rule", "rules"),
		opts.Now.Format("2006-01-02 15:04 MST"), conf)
}

// resourceGroup is the findings of one resource from one file.
type resourceGroup struct {
	resource finding.Resource
	location string
	unit     string
	worst    finding.Severity
	file     string
	line     int
	findings []finding.Finding
}

func groupByResource(fs []finding.Finding) []*resourceGroup {
	var groups []*resourceGroup
	index := map[string]*resourceGroup{}
	for _, f := range fs {
		file, line := "", 0
		if f.Location != nil {
			file, line = f.Location.File, f.Location.Line
		}
		key := resourceKey(f)
		g := index[key]
		if g == nil {
			g = &resourceGroup{resource: f.Resource, location: where(f.Location), unit: f.Unit.String(), worst: f.Severity, file: file, line: line}
			index[key] = g
			groups = append(groups, g)
		}
		g.worst = max(g.worst, f.Severity)
		g.findings = append(g.findings, f)
	}
	slices.SortStableFunc(groups, func(a, b *resourceGroup) int {
		if c := cmp.Compare(b.worst, a.worst); c != 0 {
			return c
		}
		if c := cmp.Compare(a.file, b.file); c != 0 {
			return c
		}
		if c := cmp.Compare(a.line, b.line); c != 0 {
			return c
		}
		if c := cmp.Compare(a.resource.String(), b.resource.String()); c != 0 {
			return c
		}
		return cmp.Compare(a.unit, b.unit)
	})
	return groups
}

// manyUnits reports whether the findings come from more than one unit of
// input: the table then names each resource's unit.
func manyUnits(fs []finding.Finding) bool {
	for _, f := range fs {
		if f.Unit.String() != fs[0].Unit.String() {
			return true
		}
	}
	return false
}

// findingsLayout is the column layout of the findings list: severity, rule
// ID (after a tree mark for the findings of a root cause), then text.
type findingsLayout struct {
	idWidth   int
	textWidth int
	// pad starts a continuation line at the text column; trunk does the
	// same inside a root cause's group, with the tree's vertical line.
	pad, trunk string
}

// treeCol is the column of the tree marks of root-cause groups, the rule ID
// column.
const treeCol = 2 + sevWidth + 2

func (t *tableWriter) findings(fs []finding.Finding) {
	t.w.printf("\n")
	if len(fs) == 0 {
		t.w.printf("%s\n", t.style(ansiGreen, "✓ No findings."))
		return
	}
	groups := groupByResource(fs)
	entries := make([][]entry, len(groups))
	idWidth := 0
	for i, g := range groups {
		entries[i] = groupByCause(g.findings, t.rules)
		for _, e := range entries[i] {
			mark := 0
			if e.cause != nil {
				mark = 2 // "├ "
			}
			for _, f := range e.findings {
				idWidth = max(idWidth, mark+utf8.RuneCountInString(f.RuleID))
			}
		}
	}
	idWidth = min(idWidth, 24)
	indent := treeCol + idWidth + 2
	l := findingsLayout{
		idWidth:   idWidth,
		textWidth: t.width - indent,
		pad:       strings.Repeat(" ", indent),
		trunk:     strings.Repeat(" ", treeCol) + t.style(ansiDim, "│") + strings.Repeat(" ", indent-treeCol-1),
	}

	units := manyUnits(fs)
	for i, g := range groups {
		if i > 0 {
			t.w.printf("\n")
		}
		head := []piece{pc(ansiBold, resourceLabel(g.resource)), pc(ansiDim, g.location)}
		if units && g.unit != "" {
			head = append(head, pc(ansiDim, "· in "+g.unit))
		}
		t.flow(head, "  ", 2)
		for _, e := range entries[i] {
			if e.cause == nil {
				t.finding(e.findings[0], l, "", l.pad, true)
				continue
			}
			t.cause(e, l)
		}
	}
}

// finding writes one finding: severity, mark and rule ID, the message, the
// fix (when withFix) and the controls; cont starts its continuation lines.
func (t *tableWriter) finding(f finding.Finding, l findingsLayout, mark, cont string, withFix bool) {
	sev := fmt.Sprintf("%-*s", sevWidth, strings.ToUpper(f.Severity.String()))
	id := fmt.Sprintf("%-*s", l.idWidth-utf8.RuneCountInString(mark), f.RuleID)
	lines := wrap(f.Message, l.textWidth)
	t.w.printf("  %s  %s%s  %s\n", t.style(severityStyle(f.Severity), sev), t.style(ansiDim, mark), t.style(ansiBold, id), first(lines))
	for _, line := range rest(lines) {
		t.w.printf("%s%s\n", cont, line)
	}
	if withFix && f.Remediation != "" {
		t.fix(f.Remediation, l.textWidth, cont)
	}
	if len(f.Controls) > 0 {
		for _, line := range joinWrap(f.Controls, " · ", l.textWidth) {
			t.w.printf("%s%s\n", cont, t.style(ansiDim, line))
		}
	}
}

// fix writes a remediation as "fix: ..." lines, each started by cont.
func (t *tableWriter) fix(remediation string, width int, cont string) {
	for j, line := range t.wrapCached("fix: "+remediation, width) {
		if j == 0 {
			line = t.style(ansiGreen, "fix:") + strings.TrimPrefix(line, "fix:")
		}
		t.w.printf("%s%s\n", cont, line)
	}
}

// cause writes the findings of one root cause on one resource: a heading
// with the worst severity and the cause's title, its one fix, then each
// finding without its own fix, joined by a tree. (The explanation is left
// to the HTML report and kordon rules show, to keep the table short.)
func (t *tableWriter) cause(e entry, l findingsLayout) {
	title := terminalSafe(e.cause.Title)
	sev := fmt.Sprintf("%-*s", sevWidth, strings.ToUpper(e.worst.String()))
	head := wrap("Root cause: "+title, t.width-treeCol-2)
	t.w.printf("  %s  %s%s\n", t.style(severityStyle(e.worst), sev), t.style(ansiDim, "┌ "), t.style(ansiBold, first(head)))
	for _, line := range rest(head) {
		t.w.printf("%s%s%s\n", strings.Repeat(" ", treeCol), t.style(ansiDim, "│ "), t.style(ansiBold, line))
	}
	if fix := terminalSafe(e.cause.Remediation); fix != "" {
		t.fix(fix, l.textWidth, l.trunk)
	}
	for i, f := range e.findings {
		mark, cont := "├ ", l.trunk
		if i == len(e.findings)-1 {
			mark, cont = "└ ", l.pad
		}
		t.finding(f, l, mark, cont, false)
	}
}

func (t *tableWriter) rule(title string) {
	line := "── " + title + " "
	line += strings.Repeat("─", max(0, t.width-utf8.RuneCountInString(line)))
	t.w.printf("\n%s\n", t.style(ansiBold, line))
}

func (t *tableWriter) summary(r *finding.Report) {
	t.rule("Summary")
	var parts []piece
	for _, s := range severitiesDesc() {
		n := r.Summary.BySeverity[s.String()]
		p := piece{text: fmt.Sprintf("%d %s", n, s)}
		if n > 0 {
			p.style = severityStyle(s)
		}
		parts = append(parts, p)
	}
	parts[0].sep = "  "
	t.flow(append([]piece{{style: ansiBold, text: plural(len(r.Findings), "finding", "findings")}}, parts...), " · ", 0)
	var extra []piece
	if n := len(r.Suppressed); n > 0 {
		extra = append(extra, pc("", fmt.Sprintf("%d suppressed by exceptions", n)))
	}
	if n := len(r.Errors); n > 0 {
		extra = append(extra, pc(ansiRed, plural(n, "error", "errors")))
	}
	if n := len(r.Warnings); n > 0 {
		extra = append(extra, pc(ansiYellow, plural(n, "warning", "warnings")))
	}
	if n := len(r.ExpiredExceptions); n > 0 {
		extra = append(extra, pc(ansiYellow, plural(n, "expired exception", "expired exceptions")))
	}
	t.flow(extra, " · ", 0)
}

func (t *tableWriter) scores(scores []finding.FrameworkScore) {
	if len(scores) == 0 {
		return
	}
	t.rule("Compliance")
	nameWidth := 0
	for _, s := range scores {
		nameWidth = max(nameWidth, utf8.RuneCountInString(s.Framework))
	}
	for _, s := range scores {
		filled := int(math.Round(s.Score / 100 * barCells))
		filled = min(max(filled, 0), barCells)
		bar := t.style(scoreStyle(s.Score), strings.Repeat("█", filled)) + t.style(ansiDim, strings.Repeat("░", barCells-filled))
		failing := 0
		for _, c := range s.Controls {
			if c.Failed > 0 {
				failing++
			}
		}
		detail := fmt.Sprintf("%s evaluated, %d failing", plural(len(s.Controls), "control", "controls"), failing)
		row := fmt.Sprintf("%-*s  %s  %5.1f%%", nameWidth, s.Framework, bar, s.Score)
		if nameWidth+2+barCells+2+6+2+utf8.RuneCountInString(detail) <= t.width {
			t.w.printf("%s  %s\n", row, t.style(ansiDim, detail))
		} else {
			t.w.printf("%s\n%s%s\n", row, strings.Repeat(" ", nameWidth+2), t.style(ansiDim, detail))
		}
	}
}

func scoreStyle(score float64) string {
	switch {
	case score >= 80:
		return ansiGreen
	case score >= 50:
		return ansiYellow
	default:
		return ansiRed
	}
}

func (t *tableWriter) problems(title, mark, style string, ps []finding.Problem) {
	if len(ps) == 0 {
		return
	}
	t.rule(fmt.Sprintf("%s (%d)", title, len(ps)))
	for _, p := range ps {
		text := p.Message
		if w := problemWhere(p); w != "" {
			text = w + ": " + text
		}
		lines := wrap(text, t.width-2)
		t.w.printf("%s %s\n", t.style(style, mark), first(lines))
		for _, l := range rest(lines) {
			t.w.printf("  %s\n", l)
		}
	}
}

func (t *tableWriter) expired(es []finding.Exception) {
	if len(es) == 0 {
		return
	}
	t.rule(fmt.Sprintf("Expired exceptions (%d)", len(es)))
	for _, l := range wrap("These no longer suppress anything: renew them or fix the findings.", t.width) {
		t.w.printf("%s\n", t.style(ansiDim, l))
	}
	for _, e := range es {
		t.flow([]piece{pc(ansiYellow, "!"), {text: exceptionTarget(e), sep: " "}, pc(ansiYellow, "expired "+e.Expires), pc(ansiDim, e.Source)}, "  ", 4)
		for _, l := range wrap("reason: "+e.Reason, t.width-4) {
			t.w.printf("    %s\n", l)
		}
	}
}

func (t *tableWriter) suppressed(fs []finding.Finding) {
	if len(fs) == 0 {
		return
	}
	t.rule(fmt.Sprintf("Suppressed (%d)", len(fs)))
	for _, f := range fs {
		t.flow([]piece{pc(ansiDim, "-"), {text: f.RuleID, sep: " "}, pc("", resourceLabel(f.Resource)), pc(ansiDim, where(f.Location))}, "  ", 4)
		if f.Exception != nil {
			text := "reason: " + f.Exception.Reason
			if f.Exception.Source != "" {
				text += " (" + f.Exception.Source
				if f.Exception.Expires != "" {
					text += ", until " + f.Exception.Expires
				}
				text += ")"
			}
			for _, l := range wrap(text, t.width-4) {
				t.w.printf("    %s\n", t.style(ansiDim, l))
			}
		}
	}
}

// piece is a run of text with one style; flow lays pieces out in lines.
