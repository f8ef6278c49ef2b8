package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
)

// junitDoc is what a CI server reads from JUnit XML.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
		SystemErr string `xml:"system-err"`
	} `xml:"testsuite"`
}

func renderJUnit(t *testing.T, r *finding.Report) (junitDoc, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, "junit", r, Options{Now: fixedNow}); err != nil {
		t.Fatalf("Write(junit): %v", err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, buf.String())
	}
	return doc, buf.Bytes()
}

func TestJUnitRoundTrip(t *testing.T) {
	doc, _ := renderJUnit(t, richReport())
	if doc.Tests != 8 || doc.Failures != 5 || doc.Errors != 2 || doc.Skipped != 1 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 8 5 2 1", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	if got, want := len(doc.Suites), 7; got != want {
		t.Fatalf("got %d suites, want %d (6 rules and the input suite)", got, want)
	}
	sum := 0
	for _, s := range doc.Suites {
		sum += s.Tests
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %q: tests=%d but %d test cases", s.Name, s.Tests, len(s.Cases))
		}
	}
	if sum != doc.Tests {
		t.Errorf("suite tests add up to %d, testsuites says %d", sum, doc.Tests)
	}

	byName := map[string]int{}
	for i, s := range doc.Suites {
		byName[strings.SplitN(s.Name, ":", 2)[0]] = i
	}
	// Two findings of one rule on one resource are one test case.
	pod10 := doc.Suites[byName["KOR-POD-010"]]
	if len(pod10.Cases) != 1 || pod10.Cases[0].Failure == nil {
		t.Fatalf("KOR-POD-010: want one failed test case, got %+v", pod10.Cases)
	}
	if f := pod10.Cases[0].Failure; !strings.Contains(f.Text, `"api"`) || !strings.Contains(f.Text, `"migrate"`) || f.Type != "medium" {
		t.Errorf("KOR-POD-010 failure does not carry both findings and the severity: %+v", f)
	}
	// Escaping survives the round trip.
	img := doc.Suites[byName["KOR-IMG-003"]].Cases[0]
	if img.Name != "CronJob tools/backup<nightly>" || !strings.Contains(img.Failure.Message, "&") {
		t.Errorf("KOR-IMG-003 case = %q / %q, want the original characters back", img.Name, img.Failure.Message)
	}
	if c := doc.Suites[byName["KOR-POD-002"]].Cases[0]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "CNI") {
		t.Errorf("suppressed finding: want <skipped> with the reason, got %+v", c)
	}
	in := doc.Suites[byName["kordon input"]]
	if len(in.Cases) != 2 || in.Cases[0].Error == nil || !strings.Contains(in.SystemErr, "docs/example.yaml") {
		t.Errorf("input suite: want 2 error cases and the warning in system-err, got %+v", in)
	}
}

func TestJUnitHostileText(t *testing.T) {
	r := &finding.Report{Findings: []finding.Finding{{
		RuleID: "R-1", Title: "t", Severity: finding.High,
		Resource: finding.Resource{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "x"},
		Message:  "ends a CDATA ]]> section, has a \x1b[31mcontrol\x00 character & <tags>",
	}}}
	doc, _ := renderJUnit(t, r)
	f := doc.Suites[0].Cases[0].Failure
	if !strings.Contains(f.Text, "]]>") || !strings.Contains(f.Text, "<tags>") {
		t.Errorf("failure text lost characters: %q", f.Text)
	}
	if strings.ContainsAny(f.Text, "\x1b\x00") || strings.ContainsAny(f.Message, "\x1b\x00") {
		t.Errorf("control characters reached the XML: %q / %q", f.Text, f.Message)
	}
}
