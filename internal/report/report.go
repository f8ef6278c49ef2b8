package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Options configure rendering. The zero value is usable: no colour, a width
// of 100 columns, and the current time.
type Options struct {
	// Color turns on ANSI colours in the table format. The CLI sets it when
	// standard output is a terminal and NO_COLOR is unset.
	Color bool
	// Now is the timestamp written by formats that carry one (JSON, SARIF,
	// JUnit, HTML, PolicyReport). Zero means time.Now(); tests pass a fixed
	// time so that output is reproducible.
	Now time.Time
	// Width is the terminal width the table format wraps to; 0 means 100.
	// Values below 60 are treated as 60.
	Width int
	// Target says what was scanned, for example "manifests/ charts/web" or
	// "cluster kind-dev". The table and HTML headers show it and JSON and
	// SARIF record it; empty leaves it out.
	Target string
	// Config is the configuration file (.kordon.yaml) the command ran
	// with; JSON and SARIF record it and the table header names it. Empty
	// (no file) leaves it out.
	Config string
	// BaseDir is the directory SARIF artifact URIs are made relative to
	// (normally the repository root). Absolute file paths under BaseDir
	// become relative; relative paths are kept as written. Empty means
	// paths are used as they are.
	BaseDir string
	// Rules documents rules by ID for formats that describe rules (SARIF
	// and HTML). A rule without an entry is described by its findings'
	// title and remediation. Entries also name the root cause a rule
	// reports a symptom of, by which the table and HTML formats group
	// findings.
	Rules map[string]RuleDoc
}

// RuleDoc is optional documentation of one rule.
type RuleDoc struct {
	// Description explains what the rule checks and why it matters.
	Description string
	// HelpURI links to the rule's documentation page.
	HelpURI string
	// Cause is the root cause the rule reports a symptom of; nil when it
	// has none. Where findings of two or more rules with the same cause
	// (by Cause.ID) concern one resource, the table and HTML formats show
	// them under the cause, with its remediation once; the other formats
	// ignore causes and keep one entry per finding.
	Cause *Cause
}

// Cause is a root cause several rules report symptoms of: one mistake that
// makes them all fail on a resource, and one fix that clears them all.
type Cause struct {
	// ID identifies the cause; rules whose causes have the same ID share
	// it.
	ID string
	// Title names the cause, as the heading of its findings.
	Title string
	// Explanation says why the rules fail together.
	Explanation string
	// Remediation is the one fix for all of the cause's findings.
	Remediation string
}

type writer func(w io.Writer, r *finding.Report, opts Options) error

// Formats returns the names of the output formats, the default ("table")
// first.
func Formats() []string {
	return []string{"table", "json", "sarif", "junit", "html", "policyreport"}
}

// writerFor returns the writer of a format named by Formats.
func writerFor(format string) (writer, bool) {
	switch format {
	case "table":
		return writeTable, true
	case "json":
		return writeJSON, true
	case "sarif":
		return writeSARIF, true
	case "junit":
		return writeJUnit, true
	case "html":
		return writeHTML, true
	case "policyreport":
		return writePolicyReport, true
	}
	return nil, false
}

// Write renders r to w in the named format. An unknown format is an error
// that lists the valid ones; otherwise the only errors are w's. Write does
// not modify r and is safe for concurrent use.
func Write(w io.Writer, format string, r *finding.Report, opts Options) error {
	write, ok := writerFor(format)
	if !ok {
		return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Now = opts.Now.UTC()
	n := normalize(r)
	if err := write(w, &n, opts); err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

// normalize returns a copy of r that formats can rely on: no nil slices or
// maps, findings sorted, a summary that matches the findings, and a tool
// name. r itself is not changed; the finding lists are shared with r when
// they are already in order and complete (as pipeline.Build makes them),
// so formats must not modify them.
func normalize(r *finding.Report) finding.Report {
	if r == nil {
		r = &finding.Report{}
	}
	n := *r
	if n.Tool.Name == "" {
		n.Tool.Name = "kordon"
	}
	if n.Tool.Version == "" {
		n.Tool.Version = "dev"
	}
	n.Findings = sortedFindings(r.Findings)
	n.Suppressed = sortedFindings(r.Suppressed)
	n.ExpiredExceptions = slices.Clone(r.ExpiredExceptions)
	if n.ExpiredExceptions == nil {
		n.ExpiredExceptions = []finding.Exception{}
	}
	n.Scores = make([]finding.FrameworkScore, len(r.Scores))
	for i, s := range r.Scores {
		s.Controls = slices.Clone(s.Controls)
		if s.Controls == nil {
			s.Controls = []finding.ControlScore{}
		}
		n.Scores[i] = s
	}
	n.Errors = nonNil(slices.Clone(r.Errors))
	n.Warnings = nonNil(slices.Clone(r.Warnings))

	// The summary's finding counts always agree with the lists; resources
	// and rules are only known to the producer.
	n.Summary.Findings = len(n.Findings)
	n.Summary.Suppressed = len(n.Suppressed)
	n.Summary.BySeverity = map[string]int{}
	for _, s := range finding.Severities() {
		n.Summary.BySeverity[s.String()] = 0
	}
	for _, f := range n.Findings {
		n.Summary.BySeverity[f.Severity.String()]++
	}
	return n
}

// sortedFindings returns fs in order with no nil Controls: fs itself when
// it is so already, else a sorted copy.
func sortedFindings(fs []finding.Finding) []finding.Finding {
	if fs != nil && finding.IsSorted(fs) && !slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Controls == nil }) {
		return fs
	}
	out := cloneFindings(fs)
	finding.Sort(out)
	return out
}

func cloneFindings(fs []finding.Finding) []finding.Finding {
	out := make([]finding.Finding, len(fs))
	for i, f := range fs {
		f.Controls = slices.Clone(f.Controls)
		if f.Controls == nil {
			f.Controls = []string{}
		}
		out[i] = f
	}
	return out
}

func nonNil(ps []finding.Problem) []finding.Problem {
	if ps == nil {
		return []finding.Problem{}
	}
	return ps
}

// severitiesDesc returns the severities worst first.
func severitiesDesc() []finding.Severity {
	s := finding.Severities()
	slices.Reverse(s)
	return s
}

// where formats a finding's location as file:line, file, or "" when the
// finding has no location.
func where(l *finding.Location) string {
	if l == nil || l.File == "" {
		return ""
	}
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}

// problemWhere formats where a problem is: file:line, the resource, or both.
func problemWhere(p finding.Problem) string {
	var parts []string
	if loc := where(&finding.Location{File: p.File, Line: p.Line}); loc != "" {
		parts = append(parts, loc)
	}
	if p.Resource != nil {
		parts = append(parts, resourceLabel(*p.Resource))
	}
	if p.RuleID != "" {
		parts = append(parts, "rule "+p.RuleID)
	}
	return strings.Join(parts, ", ")
}

// exceptionTarget describes what an exception matches, e.g.
// "KOR-POD-001 Deployment kube-system/cilium-*".
func exceptionTarget(e finding.Exception) string {
	var b strings.Builder
	b.WriteString(e.Rule)
	kind := e.Kind
	if kind == "" {
		kind = "*"
	}
	ns, name := e.Namespace, e.Name
	if name == "" {
		name = "*"
	}
	b.WriteString(" " + kind + " ")
	if ns != "" {
		b.WriteString(ns + "/")
	}
	b.WriteString(name)
	return b.String()
}

// resourceLabel names a resource for people: "Deployment payments/api", or
// just the kind for objects without a name (such as a KubeletConfiguration).
func resourceLabel(r finding.Resource) string {
	return strings.TrimSpace(r.String())
}
