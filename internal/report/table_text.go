package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Text layout of the table format: styled pieces flowed into the terminal
// width, word wrapping, and making untrusted text safe for a terminal.

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
			if x.Unit != nil {
				u := *x.Unit
				u.Path, u.Namespace = f(u.Path), f(u.Namespace)
				x.Unit = &u
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
