package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// The HTML report is one self-contained page: inline CSS and a little
// JavaScript for filtering and sorting, no external fetches. html/template
// escapes every value taken from the report.

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed once; parsing a constant template cannot fail at
// run time without failing every test.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	// pathParts splits a path at slashes so the page can offer line breaks
	// there.
	"pathParts": func(p string) []string { return strings.Split(p, "/") },
}).Parse(htmlSource))

type htmlPage struct {
	Title      string
	Tool       finding.Tool
	Target     string
	Generated  string
	Summary    finding.Summary
	Severities []htmlSeverity
	Scores     []htmlScore
	Findings   []htmlFinding
	Suppressed []htmlFinding
	Errors     []htmlProblem
	Warnings   []htmlProblem
	Expired    []htmlExpired
}

type htmlSeverity struct {
	Name  string
	Count int
}

type htmlScore struct {
	Framework string
	Score     string
	Width     string
	Class     string
	Controls  []htmlControl
	// Evaluated says how many controls were evaluated and failed.
	Evaluated string
}

type htmlControl struct {
	ID        string
	Score     string
	Evaluated int
	Failed    int
	Class     string
}

type htmlFinding struct {
	Severity  string
	Rank      int
	RuleID    string
	Title     string
	HelpURI   string
	Resource  string
	Kind      string
	Namespace string
	Location  string
	// Unit names the unit of input the finding was judged in ("chart
	// charts/web"); empty for a cluster.
	Unit string
	// NamespaceFrom says where the resource's namespace came from when
	// its file names none ("--release-namespace").
	NamespaceFrom string
	Message       string
	Remediation   string
	Controls      []string
	Reason        string
	Source        string
	Expires       string
	// Cause is set on a row that shows the findings of one root cause on
	// one resource; the row's other fields then describe the group.
	Cause *htmlCause
}

// htmlCause is the root cause of a group row: its findings are Members.
type htmlCause struct {
	ID          string
	Title       string
	Explanation string
	Remediation string
	Members     []htmlFinding
	// Severities lists the members' severities, one per member, for the
	// page's severity filter.
	Severities string
}

type htmlProblem struct {
	Where   string
	Message string
}

type htmlExpired struct {
	Target  string
	Expires string
	Reason  string
	Source  string
}

func writeHTML(w io.Writer, r *finding.Report, opts Options) error {
	page := htmlPage{
		Title:     "Kordon scan report",
		Tool:      r.Tool,
		Target:    opts.Target,
		Generated: opts.Now.Format("2006-01-02 15:04 MST"),
		Summary:   r.Summary,
	}
	if opts.Target != "" {
		page.Title += " · " + opts.Target
	}
	for _, s := range severitiesDesc() {
		page.Severities = append(page.Severities, htmlSeverity{Name: s.String(), Count: r.Summary.BySeverity[s.String()]})
	}
	for _, s := range r.Scores {
		hs := htmlScore{
			Framework: s.Framework,
			Score:     fmt.Sprintf("%.1f", s.Score),
			Width:     fmt.Sprintf("%.1f%%", min(max(s.Score, 0), 100)),
			Class:     scoreClass(s.Score),
		}
		failing := 0
		for _, c := range s.Controls {
			if c.Failed > 0 {
				failing++
			}
			hs.Controls = append(hs.Controls, htmlControl{
				ID: c.ID, Score: fmt.Sprintf("%.1f", c.Score), Evaluated: c.Evaluated, Failed: c.Failed, Class: scoreClass(c.Score),
			})
		}
		hs.Evaluated = fmt.Sprintf("%s evaluated, %d failing", plural(len(s.Controls), "control", "controls"), failing)
		page.Scores = append(page.Scores, hs)
	}
	for _, e := range groupByCause(r.Findings, opts.Rules) {
		if e.cause == nil {
			page.Findings = append(page.Findings, htmlFindingOf(e.findings[0], opts))
			continue
		}
		page.Findings = append(page.Findings, htmlCauseRow(e, opts))
	}
	for _, f := range r.Suppressed {
		hf := htmlFindingOf(f, opts)
		if f.Exception != nil {
			hf.Reason, hf.Source, hf.Expires = f.Exception.Reason, f.Exception.Source, f.Exception.Expires
		}
		page.Suppressed = append(page.Suppressed, hf)
	}
	for _, p := range r.Errors {
		page.Errors = append(page.Errors, htmlProblem{Where: problemWhere(p), Message: p.Message})
	}
	for _, p := range r.Warnings {
		page.Warnings = append(page.Warnings, htmlProblem{Where: problemWhere(p), Message: p.Message})
	}
	for _, e := range r.ExpiredExceptions {
		page.Expired = append(page.Expired, htmlExpired{Target: exceptionTarget(e), Expires: e.Expires, Reason: e.Reason, Source: e.Source})
	}
	return htmlTemplate.Execute(w, page)
}

func htmlFindingOf(f finding.Finding, opts Options) htmlFinding {
	return htmlFinding{
		Severity:      f.Severity.String(),
		Rank:          int(f.Severity),
		RuleID:        f.RuleID,
		Title:         f.Title,
		HelpURI:       opts.Rules[f.RuleID].HelpURI,
		Resource:      resourceLabel(f.Resource),
		Kind:          f.Resource.Kind,
		Namespace:     f.Resource.Namespace,
		Location:      where(f.Location),
		Unit:          f.Unit.String(),
		NamespaceFrom: namespaceFrom(f.Location),
		Message:       f.Message,
		Remediation:   f.Remediation,
		Controls:      f.Controls,
	}
}

// htmlCauseRow describes the findings of one root cause on one resource as
// one row: the worst severity, the cause, the resource, and the findings'
// controls; the members keep their own severity, rule and message.
func htmlCauseRow(e entry, opts Options) htmlFinding {
	row := htmlFindingOf(e.findings[0], opts)
	row.Severity, row.Rank = e.worst.String(), int(e.worst)
	row.RuleID, row.Title, row.HelpURI = e.cause.ID, e.cause.Title, ""
	row.Message, row.Remediation, row.Controls = "", "", nil
	c := &htmlCause{ID: e.cause.ID, Title: e.cause.Title, Explanation: e.cause.Explanation, Remediation: e.cause.Remediation}
	sevs := make([]string, len(e.findings))
	for i, f := range e.findings {
		c.Members = append(c.Members, htmlFindingOf(f, opts))
		sevs[i] = f.Severity.String()
		for _, ctl := range f.Controls {
			if !slices.Contains(row.Controls, ctl) {
				row.Controls = append(row.Controls, ctl)
			}
		}
	}
	c.Severities = strings.Join(sevs, " ")
	row.Cause = c
	return row
}

func scoreClass(score float64) string {
	switch {
	case score >= 80:
		return "good"
	case score >= 50:
		return "fair"
	default:
		return "poor"
	}
}

func namespaceFrom(l *finding.Location) string {
	if l == nil {
		return ""
	}
	return l.NamespaceFrom
}
