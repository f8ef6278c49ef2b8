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
	mapStrings(r, terminalSafe)
	opts.Target = terminalSafe(opts.Target)
	t := &tableWriter{w: &errWriter{w: w}, color: opts.Color, width: opts.Width}
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
	t.w.printf("%s checked against %s · %s\n",
		plural(s.Resources, "resource", "resources"), plural(s.Rules, "rule", "rules"),
		opts.Now.Format("2006-01-02 15:04 MST"))
}

// resourceGroup is the findings of one resource from one file.
type resourceGroup struct {
	resource finding.Resource
	location string
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
		key := f.Resource.APIVersion + "\x00" + f.Resource.String() + "\x00" + file
		g := index[key]
		if g == nil {
			g = &resourceGroup{resource: f.Resource, location: where(f.Location), worst: f.Severity, file: file, line: line}
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
		return cmp.Compare(a.resource.String(), b.resource.String())
	})
	return groups
}

func (t *tableWriter) findings(fs []finding.Finding) {
	t.w.printf("\n")
	if len(fs) == 0 {
		t.w.printf("%s\n", t.style(ansiGreen, "✓ No findings."))
		return
	}
	idWidth := 0
	for _, f := range fs {
		idWidth = max(idWidth, utf8.RuneCountInString(f.RuleID))
	}
	idWidth = min(idWidth, 24)
	indent := 2 + sevWidth + 2 + idWidth + 2
	textWidth := t.width - indent
	pad := strings.Repeat(" ", indent)

	for i, g := range groupByResource(fs) {
		if i > 0 {
			t.w.printf("\n")
		}
		t.flow([]piece{pc(ansiBold, resourceLabel(g.resource)), pc(ansiDim, g.location)}, "  ", 2)
		for _, f := range g.findings {
			sev := fmt.Sprintf("%-*s", sevWidth, strings.ToUpper(f.Severity.String()))
			id := fmt.Sprintf("%-*s", idWidth, f.RuleID)
			lines := wrap(f.Message, textWidth)
			t.w.printf("  %s  %s  %s\n", t.style(severityStyle(f.Severity), sev), t.style(ansiBold, id), first(lines))
			for _, l := range rest(lines) {
				t.w.printf("%s%s\n", pad, l)
			}
			if f.Remediation != "" {
				for j, l := range t.wrapCached("fix: "+f.Remediation, textWidth) {
					if j == 0 {
						l = t.style(ansiGreen, "fix:") + strings.TrimPrefix(l, "fix:")
					}
					t.w.printf("%s%s\n", pad, l)
				}
			}
			if len(f.Controls) > 0 {
				for _, l := range joinWrap(f.Controls, " · ", textWidth) {
					t.w.printf("%s%s\n", pad, t.style(ansiDim, l))
				}
			}
		}
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
type piece struct {
	style, text string
	// sep, when set, replaces the separator before this piece.
	sep string
}

func pc(style, text string) piece { return piece{style: style, text: text} }

// flow writes pieces separated by sep, starting a new line (indented by
// indent spaces) when the next piece would pass the width. A piece longer
// than a line gets a line of its own.
func (t *tableWriter) flow(pieces []piece, sep string, indent int) {
	var line strings.Builder
	col := 0
	for _, p := range pieces {
		if p.text == "" {
			continue
		}
		n := utf8.RuneCountInString(p.text)
		gap := sep
		if p.sep != "" {
			gap = p.sep
		}
		if col > 0 && col+utf8.RuneCountInString(gap)+n > t.width {
			t.w.printf("%s\n", line.String())
			line.Reset()
			line.WriteString(strings.Repeat(" ", indent))
			col = indent
		} else if col > 0 {
			line.WriteString(gap)
			col += utf8.RuneCountInString(gap)
		}
		line.WriteString(t.style(p.style, p.text))
		col += n
	}
	if col > 0 {
		t.w.printf("%s\n", line.String())
	}
}

// plural formats a count with the right noun: "1 rule", "2 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// wrap breaks text into lines of at most width runes at spaces, keeping
// explicit line breaks. A word longer than width gets a line of its own.
// wrapCached is wrap for texts that repeat (the width is fixed per table).
func (t *tableWriter) wrapCached(text string, width int) []string {
	if lines, ok := t.wrapped[text]; ok {
		return lines
	}
	if t.wrapped == nil {
		t.wrapped = map[string][]string{}
	}
	lines := wrap(text, width)
	t.wrapped[text] = lines
	return lines
}

func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
				line += " " + word
			default:
				lines = append(lines, line)
				line = word
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// joinWrap joins items with sep into lines of at most width runes, breaking
// only between items, so that no line starts with the separator.
func joinWrap(items []string, sep string, width int) []string {
	var lines []string
	line := ""
	for _, it := range items {
		switch {
		case line == "":
			line = it
		case utf8.RuneCountInString(line)+utf8.RuneCountInString(sep)+utf8.RuneCountInString(it) <= width:
			line += sep + it
		default:
			lines = append(lines, line)
			line = it
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func first(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

func rest(lines []string) []string {
	if len(lines) < 2 {
		return nil
	}
	return lines[1:]
}

// terminalSafe replaces control characters other than newline and tab with
// U+FFFD.
func terminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || (r >= 0x7F && r < 0xA0) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// mapStrings applies f to every text field of r's findings, problems and
// exceptions, in place. r must be a copy made by normalize.
func mapStrings(r *finding.Report, f func(string) string) {
	res := func(x *finding.Resource) {
		x.APIVersion, x.Kind, x.Namespace, x.Name = f(x.APIVersion), f(x.Kind), f(x.Namespace), f(x.Name)
	}
	for _, fs := range [][]finding.Finding{r.Findings, r.Suppressed} {
		for i := range fs {
			x := &fs[i]
			x.RuleID, x.Title, x.Message, x.Remediation = f(x.RuleID), f(x.Title), f(x.Message), f(x.Remediation)
			for j := range x.Controls {
				x.Controls[j] = f(x.Controls[j])
			}
			res(&x.Resource)
			if x.Location != nil {
				l := *x.Location
				l.File = f(l.File)
				x.Location = &l
			}
			if x.Exception != nil {
				e := *x.Exception
				e.Source, e.Reason, e.Expires = f(e.Source), f(e.Reason), f(e.Expires)
				x.Exception = &e
			}
		}
	}
	for _, ps := range [][]finding.Problem{r.Errors, r.Warnings} {
		for i := range ps {
			p := &ps[i]
			p.File, p.RuleID, p.Message = f(p.File), f(p.RuleID), f(p.Message)
			if p.Resource != nil {
				x := *p.Resource
				res(&x)
				p.Resource = &x
			}
		}
	}
	for i := range r.ExpiredExceptions {
		e := &r.ExpiredExceptions[i]
		e.Rule, e.Kind, e.Namespace, e.Name = f(e.Rule), f(e.Kind), f(e.Namespace), f(e.Name)
		e.Reason, e.Expires, e.Source = f(e.Reason), f(e.Expires), f(e.Source)
	}
	for i := range r.Scores {
		r.Scores[i].Framework = f(r.Scores[i].Framework)
	}
}
