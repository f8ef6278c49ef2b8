package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kordon-dev/kordon/internal/finding"
)

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func renderTable(t *testing.T, r *finding.Report, opts Options) string {
	t.Helper()
	opts.Now = fixedNow
	var buf bytes.Buffer
	if err := Write(&buf, "table", r, opts); err != nil {
		t.Fatalf("Write(table): %v", err)
	}
	return buf.String()
}

func TestTableWidth(t *testing.T) {
	for _, width := range []int{0, 60, 80, 120} {
		for _, color := range []bool{false, true} {
			out := renderTable(t, richReport(), Options{Width: width, Color: color})
			limit := width
			if limit == 0 {
				limit = defaultWidth
			}
			for i, line := range strings.Split(out, "\n") {
				plain := ansiEscape.ReplaceAllString(line, "")
				if n := utf8.RuneCountInString(plain); n > limit {
					t.Errorf("width %d color %v: line %d has %d columns: %q", width, color, i+1, n, plain)
				}
			}
		}
	}
}

func TestTableColor(t *testing.T) {
	plain := renderTable(t, richReport(), Options{})
	if strings.Contains(plain, "\x1b") {
		t.Error("table without Color contains ANSI escapes")
	}
	colored := renderTable(t, richReport(), Options{Color: true})
	if !strings.Contains(colored, ansiBgRed+"CRITICAL") {
		t.Error("table with Color does not colour the critical severity")
	}
	if got := ansiEscape.ReplaceAllString(colored, ""); got != plain {
		t.Errorf("coloured table differs from the plain one beyond escapes:\n%s", firstDiff(plain, got))
	}
}

func TestTableContent(t *testing.T) {
	out := renderTable(t, richReport(), Options{Target: "deploy/"})
	for _, want := range []string{
		"deploy/", // what was scanned
		"Deployment payments/api  deploy/api.yaml:14", // resource heading with file:line
		"CRITICAL  KOR-POD-001",                       // severity and rule
		"fix: Remove securityContext.privileged",      // remediation
		"CIS:5.2.1 · NSA:pod-security",                // controls
		"6 findings",                                  // summary
		"PSS ",                                        // framework score
		"91.7%",
		"Errors (2)",
		"Warnings (1)",
		"Expired exceptions (1)",
		"KOR-POD-001 Deployment legacy/billing-*  expired 2026-01-31",
		"Suppressed (1)",
		"The CNI needs the host network.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Worst resource first: the critical Deployment before the ClusterRole.
	if strings.Index(out, "Deployment payments/api") > strings.Index(out, "ClusterRole ops-admin") {
		t.Error("resources are not ordered worst first")
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"a b c", 10, []string{"a b c"}},
		{"aaa bbb ccc", 7, []string{"aaa bbb", "ccc"}},
		{"averyveryverylongword x", 5, []string{"averyveryverylongword", "x"}},
		{"line one\nline two", 20, []string{"line one", "line two"}},
		{"", 10, []string{""}},
	}
	for _, tt := range tests {
		got := wrap(tt.text, tt.width)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}

func TestTableNeutralisesEscapes(t *testing.T) {
	r := richReport()
	r.Findings[0].Message = "evil \x1b[2J\x1b[31mcleared\x07 screen"
	r.Findings[0].Resource.Name = "api\x1b]0;title\x07"
	r.Errors[0].Message = "bad \u009b31m C1 escape and \x9b invalid UTF-8"
	out := renderTable(t, r, Options{})
	if strings.ContainsAny(out, "\x1b\x07\u009b") || !utf8.ValidString(out) {
		t.Errorf("table passes control characters from the report through:\n%q", out)
	}
	if !strings.Contains(out, "evil \uFFFD[2J") {
		t.Error("escape was not replaced by U+FFFD")
	}
	// The input report is not modified.
	if r.Findings[0].Message != "evil \x1b[2J\x1b[31mcleared\x07 screen" {
		t.Error("Write modified the caller's report")
	}
}

func TestJoinWrap(t *testing.T) {
	got := joinWrap([]string{"CIS:5.2.2", "NSA:privileged", "NIST-800-190:4.4.3"}, " · ", 28)
	want := []string{"CIS:5.2.2 · NSA:privileged", "NIST-800-190:4.4.3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("joinWrap = %q, want %q", got, want)
	}
}
