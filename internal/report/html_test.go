package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
)

func renderHTML(t *testing.T, r *finding.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, "html", r, Options{Now: fixedNow}); err != nil {
		t.Fatalf("Write(html): %v", err)
	}
	return buf.String()
}

func TestHTMLSelfContained(t *testing.T) {
	out := renderHTML(t, richReport())
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script[^>]+src=`),
		regexp.MustCompile(`<link[^>]+href=`),
		regexp.MustCompile(`<img[^>]+src=`),
		regexp.MustCompile(`@import`),
		regexp.MustCompile(`url\(`),
		regexp.MustCompile(`fetch\(|XMLHttpRequest`),
	} {
		if loc := bad.FindStringIndex(out); loc != nil {
			t.Errorf("HTML fetches something external: %q", out[loc[0]:min(loc[1]+40, len(out))])
		}
	}
}

func TestHTMLContent(t *testing.T) {
	out := renderHTML(t, richReport())
	for _, want := range []string{
		`<div class="n">6</div><div class="l">findings</div>`,
		`class="card sev critical"`,
		`<span class="fw">PSS</span><span class="pct">91.7%</span>`,
		`style="width: 91.7%"`,
		`data-rule="KOR-POD-001"`,
		`Fix: Remove securityContext.privileged or set it to false.`,
		`<span class="tag">CIS:5.2.1</span>`,
		`Errors (2)`, `Warnings (1)`, `Expired exceptions (1)`, `Suppressed (1)`,
		`The CNI needs the host network.`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := richReport()
	r.Findings[0].Message = `</script><script>alert("x")</script><img src=x onerror=alert(1)>`
	r.Findings[0].Controls = []string{`"><b>bold</b>`}
	out := renderHTML(t, r)
	for _, raw := range []string{`<script>alert`, `<img src=x`, `"><b>bold`, "backup<nightly>"} {
		if strings.Contains(out, raw) {
			t.Errorf("HTML contains unescaped %q", raw)
		}
	}
	if !strings.Contains(out, "backup&lt;nightly&gt;") {
		t.Error("HTML lacks the escaped resource name backup&lt;nightly&gt;")
	}
}

func TestHTMLEmpty(t *testing.T) {
	out := renderHTML(t, &finding.Report{})
	if !strings.Contains(out, "No findings.") || strings.Contains(out, `id="findings"`) {
		t.Error("empty report: want the no-findings note and no findings table")
	}
}
