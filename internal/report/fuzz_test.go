package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
)

// FuzzWrite renders reports whose text comes from the fuzzer (as it comes
// from scanned manifests in real use) and checks that every machine format
// still parses: JSON and SARIF as JSON, JUnit as XML, PolicyReport as YAML.
func FuzzWrite(f *testing.F) {
	f.Add("KOR-POD-001", "payments", "api", "deploy/api.yaml", "Container \"api\" runs privileged", "Remove it", 3)
	f.Add("R", "", "x<y>", "dir with space/ä.yaml", "]]> \x00\x1b[31m & </script>", "", 0)
	f.Add("", "ns", "", "-", "line one\nline two\r\n\ttab", "\u2028\ufffe", 9)
	f.Fuzz(func(t *testing.T, rule, ns, name, file, msg, fix string, sev int) {
		r := &finding.Report{Findings: []finding.Finding{{
			RuleID: rule, Title: msg, Severity: finding.Severity(((sev % 5) + 5) % 5),
			Controls: []string{"CIS:" + rule},
			Resource: finding.Resource{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: name},
			Location: &finding.Location{File: file, Line: sev},
			Message:  msg, Remediation: fix,
		}}, Errors: []finding.Problem{{File: file, Message: msg}}}
		for _, format := range Formats() {
			var buf bytes.Buffer
			if err := Write(&buf, format, r, Options{Now: fixedNow}); err != nil {
				t.Fatalf("Write(%s): %v", format, err)
			}
			switch format {
			case "json", "sarif":
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("%s output is not valid JSON:\n%s", format, buf.String())
				}
			case "junit":
				var v junitDoc
				if err := xml.Unmarshal(buf.Bytes(), &v); err != nil {
					t.Fatalf("junit output is not valid XML: %v\n%q", err, buf.String())
				}
			case "policyreport":
				decodeStream(t, buf.Bytes())
			}
		}
	})
}
