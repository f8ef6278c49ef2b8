package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// JUnit XML: one testsuite per rule with a finding, one testcase per (rule,
// resource). A finding is a <failure>, a suppressed finding is <skipped>,
// and input or rule errors are <error> test cases of a suite named
// "kordon input". Only failed checks appear: a report does not list the
// resources that passed.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []*junitCase     `xml:"testcase"`
	SystemErr  *junitText       `xml:"system-err,omitempty"`
}

type junitProperties struct {
	List []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func writeJUnit(w io.Writer, r *finding.Report, opts Options) error {
	stamp := opts.Now.Format("2006-01-02T15:04:05")
	doc := junitSuites{Name: r.Tool.Name, Time: "0"}

	type caseKey struct{ rule, resource, file string }
	suites := map[string]*junitSuite{}
	cases := map[caseKey]*junitCase{}
	var order []string
	suiteFor := func(f finding.Finding) *junitSuite {
		s := suites[f.RuleID]
		if s == nil {
			s = &junitSuite{Name: f.RuleID + ": " + f.Title, Time: "0", Timestamp: stamp}
			props := []junitProperty{{Name: "severity", Value: f.Severity.String()}}
			if len(f.Controls) > 0 {
				props = append(props, junitProperty{Name: "controls", Value: strings.Join(f.Controls, ", ")})
			}
			s.Properties = &junitProperties{List: props}
			suites[f.RuleID] = s
			order = append(order, f.RuleID)
		}
		return s
	}
	caseFor := func(f finding.Finding) (*junitCase, bool) {
		k := caseKey{f.RuleID, f.Resource.APIVersion + " " + f.Resource.String(), ""}
		c := &junitCase{Name: resourceLabel(f.Resource), ClassName: f.RuleID, Time: "0"}
		if f.Location != nil {
			k.file = f.Location.File
			c.File, c.Line = f.Location.File, f.Location.Line
		}
		if old := cases[k]; old != nil {
			return old, false
		}
		cases[k] = c
		return c, true
	}

	for _, f := range r.Findings {
		s := suiteFor(f)
		c, isNew := caseFor(f)
		if isNew {
			c.Failure = &junitProblem{Message: f.Message, Type: f.Severity.String()}
			s.Cases = append(s.Cases, c)
			s.Tests++
			s.Failures++
		} else {
			c.Failure.Message += "; " + f.Message
			c.Failure.Text += "\n\n"
		}
		c.Failure.Text += xmlSafe(failureText(f))
	}
	for _, f := range r.Suppressed {
		s := suiteFor(f)
		c, isNew := caseFor(f)
		if !isNew {
			continue // the same rule and resource also failed
		}
		msg := "suppressed"
		if f.Exception != nil {
			msg += ": " + f.Exception.Reason
		}
		c.Skipped = &junitSkipped{Message: msg}
		s.Cases = append(s.Cases, c)
		s.Tests++
		s.Skipped++
	}
	slices.Sort(order)
	for _, id := range order {
		doc.Suites = append(doc.Suites, *suites[id])
	}

	if len(r.Errors) > 0 || len(r.Warnings) > 0 {
		in := junitSuite{Name: "kordon input", Time: "0", Timestamp: stamp}
		for i, p := range r.Errors {
			name := problemWhere(p)
			if name == "" {
				name = fmt.Sprintf("error %d", i+1)
			}
			in.Cases = append(in.Cases, &junitCase{
				Name: name, ClassName: "kordon.input", File: p.File, Line: p.Line, Time: "0",
				Error: &junitProblem{Message: p.Message, Type: "error", Text: xmlSafe(p.Message)},
			})
			in.Tests++
			in.Errors++
		}
		var warns []string
		for _, p := range r.Warnings {
			text := p.Message
			if w := problemWhere(p); w != "" {
				text = w + ": " + text
			}
			warns = append(warns, "warning: "+text)
		}
		if len(warns) > 0 {
			in.SystemErr = &junitText{Text: xmlSafe(strings.Join(warns, "\n"))}
		}
		doc.Suites = append(doc.Suites, in)
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// failureText is the body of a <failure>: the message and where and how to
// fix it.
func failureText(f finding.Finding) string {
	lines := []string{fmt.Sprintf("[%s] %s: %s", f.Severity, f.Resource, f.Message)}
	if loc := where(f.Location); loc != "" {
		lines = append(lines, "location: "+loc)
	}
	if f.Remediation != "" {
		lines = append(lines, "remediation: "+f.Remediation)
	}
	if len(f.Controls) > 0 {
		lines = append(lines, "controls: "+strings.Join(f.Controls, ", "))
	}
	return strings.Join(lines, "\n")
}

// xmlSafe replaces characters XML 1.0 cannot carry (most control
// characters) with U+FFFD. encoding/xml does this for attributes and
// escaped text but not for CDATA sections.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}
