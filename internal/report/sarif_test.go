package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kordon-dev/kordon/internal/finding"
)

// compileSchema compiles a JSON Schema file with format assertions on.
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(abs)
	if err != nil {
		t.Fatalf("compile schema %s: %v", file, err)
	}
	return s
}

func validateJSON(t *testing.T, s *jsonschema.Schema, data []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("output does not match the schema:\n%v", err)
	}
}

func renderSARIF(t *testing.T, r *finding.Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", r, opts); err != nil {
		t.Fatalf("Write(sarif): %v", err)
	}
	return buf.Bytes()
}

// TestSARIFSchema validates the golden SARIF files and fresh output against
// the official SARIF 2.1.0 schema (testdata/sarif-schema-2.1.0.json).
func TestSARIFSchema(t *testing.T) {
	schema := compileSchema(t, "testdata/sarif-schema-2.1.0.json")
	for _, name := range []string{"rich", "empty"} {
		t.Run(name+" golden", func(t *testing.T) {
			validateJSON(t, schema, readFile(t, filepath.Join("testdata", name+".sarif.golden")))
		})
	}
	t.Run("fresh", func(t *testing.T) {
		validateJSON(t, schema, renderSARIF(t, richReport(), Options{Now: fixedNow}))
	})
	t.Run("schema rejects a broken log", func(t *testing.T) {
		// Guards against a schema that accepts anything.
		doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"kordon"}},"results":[{"ruleId":"X","level":"fatal","message":{"text":"m"}}]}]}`))
		if err := schema.Validate(doc); err == nil {
			t.Error("schema accepted a result with level \"fatal\"")
		}
	})
}

// sarifDoc is the part of a SARIF log the GitHub checks below look at.
type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID                   string `json:"id"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Help struct {
						Markdown string `json:"markdown"`
					} `json:"help"`
					Properties struct {
						Tags             []string `json:"tags"`
						SecuritySeverity string   `json:"security-severity"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name               string `json:"name"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Suppressions        []struct {
				Justification string `json:"justification"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

// TestSARIFForGitHub checks what GitHub code scanning relies on beyond the
// schema: rule metadata, levels, security-severity, regions, relative URIs
// and unique fingerprints.
func TestSARIFForGitHub(t *testing.T) {
	var doc sarifDoc
	if err := json.Unmarshal(renderSARIF(t, richReport(), Options{Now: fixedNow}), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(doc.Runs))
	}
	run := doc.Runs[0]
	d := run.Tool.Driver
	if d.Name != "kordon" || d.Version != "v0.4.0" || d.InformationURI == "" {
		t.Errorf("driver = %q %q %q, want kordon v0.4.0 with an informationUri", d.Name, d.Version, d.InformationURI)
	}
	wantSev := map[string]string{"KOR-POD-001": "9.5", "KOR-POD-002": "8.0", "KOR-RBAC-002": "8.0", "KOR-POD-010": "5.5", "KOR-NET-001": "3.0", "KOR-IMG-003": "1.0"}
	wantLevel := map[string]string{"KOR-POD-001": "error", "KOR-POD-002": "error", "KOR-RBAC-002": "error", "KOR-POD-010": "warning", "KOR-NET-001": "note", "KOR-IMG-003": "note"}
	if len(d.Rules) != len(wantSev) {
		t.Errorf("got %d rules, want %d", len(d.Rules), len(wantSev))
	}
	for _, r := range d.Rules {
		if r.Properties.SecuritySeverity != wantSev[r.ID] {
			t.Errorf("rule %s security-severity = %q, want %q", r.ID, r.Properties.SecuritySeverity, wantSev[r.ID])
		}
		if _, err := strconv.ParseFloat(r.Properties.SecuritySeverity, 64); err != nil {
			t.Errorf("rule %s security-severity %q is not a number", r.ID, r.Properties.SecuritySeverity)
		}
		if r.DefaultConfiguration.Level != wantLevel[r.ID] {
			t.Errorf("rule %s level = %q, want %q", r.ID, r.DefaultConfiguration.Level, wantLevel[r.ID])
		}
		if !strings.Contains(strings.Join(r.Properties.Tags, " "), "security") {
			t.Errorf("rule %s tags %v lack \"security\"", r.ID, r.Properties.Tags)
		}
	}
	if !strings.Contains(d.Rules[2].Help.Markdown, "Remove securityContext.privileged") {
		t.Errorf("rule %s help has no remediation: %q", d.Rules[2].ID, d.Rules[2].Help.Markdown)
	}

	if got, want := len(run.Results), 7; got != want {
		t.Fatalf("got %d results, want %d (6 findings and 1 suppressed)", got, want)
	}
	seen := map[string]bool{}
	suppressed := 0
	for i, res := range run.Results {
		if d.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d names %s, want %s", i, res.RuleIndex, d.Rules[res.RuleIndex].ID, res.RuleID)
		}
		if res.Level != wantLevel[res.RuleID] {
			t.Errorf("result %d (%s): level %q, want %q", i, res.RuleID, res.Level, wantLevel[res.RuleID])
		}
		if len(res.Locations) != 1 || len(res.Locations[0].LogicalLocations) != 1 {
			t.Fatalf("result %d: want one location with one logical location, got %+v", i, res.Locations)
		}
		if p := res.Locations[0].PhysicalLocation; p != nil {
			if p.Region == nil || p.Region.StartLine < 1 {
				t.Errorf("result %d: physical location without a region startLine >= 1", i)
			}
			if u := p.ArtifactLocation.URI; strings.Contains(u, `\`) || strings.HasPrefix(u, "/") {
				t.Errorf("result %d: uri %q is not a relative forward-slash path", i, u)
			}
		} else if res.RuleID != "KOR-NET-001" {
			t.Errorf("result %d (%s) has no physical location", i, res.RuleID)
		}
		fp := res.PartialFingerprints[fingerprintKey]
		if fp == "" || seen[fp] {
			t.Errorf("result %d: fingerprint %q is empty or repeated", i, fp)
		}
		seen[fp] = true
		if len(res.Suppressions) > 0 {
			suppressed++
			if res.Suppressions[0].Justification == "" {
				t.Errorf("result %d: suppression without justification", i)
			}
		}
	}
	if suppressed != 1 {
		t.Errorf("got %d suppressed results, want 1", suppressed)
	}
	// The finding without a location (a Namespace) has only a logical one.
	for _, res := range run.Results {
		if res.RuleID == "KOR-NET-001" {
			if res.Locations[0].PhysicalLocation != nil {
				t.Error("KOR-NET-001 has a physical location, want none")
			}
			if got := res.Locations[0].LogicalLocations[0].FullyQualifiedName; got != "v1/Namespace/payments" {
				t.Errorf("KOR-NET-001 logical location = %q, want v1/Namespace/payments", got)
			}
		}
	}
}

func TestSARIFLineZeroBecomesOne(t *testing.T) {
	var doc sarifDoc
	if err := json.Unmarshal(renderSARIF(t, richReport(), Options{Now: fixedNow}), &doc); err != nil {
		t.Fatal(err)
	}
	for _, res := range doc.Runs[0].Results {
		if res.RuleID == "KOR-IMG-003" {
			if got := res.Locations[0].PhysicalLocation.Region.StartLine; got != 1 {
				t.Errorf("startLine for a finding with line 0 = %d, want 1", got)
			}
			return
		}
	}
	t.Error("no KOR-IMG-003 result")
}

func TestFingerprintStable(t *testing.T) {
	f := richReport().Findings[0]
	g := f
	g.Location = &finding.Location{File: "moved/elsewhere.yaml", Line: 99}
	g.Message = "reworded"
	g.Resource.APIVersion = "apps/v1beta2"
	if fingerprint(f) != fingerprint(g) {
		t.Error("fingerprint changed with location, message or API version; want it stable")
	}
	h := f
	h.Resource.Name = "other"
	if fingerprint(f) == fingerprint(h) {
		t.Error("fingerprint is the same for different resources")
	}
}

func TestArtifactURI(t *testing.T) {
	base, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, base string
		want       string
		ok         bool
	}{
		{"deploy/app.yaml", "", "deploy/app.yaml", true},
		{"./deploy//app.yaml", "", "deploy/app.yaml", true},
		{"dir with space/a.yaml", "", "dir%20with%20space/a.yaml", true},
		{filepath.Join(base, "k8s", "a.yaml"), base, "k8s/a.yaml", true},
		{"/elsewhere/a.yaml", base, "file:///elsewhere/a.yaml", true},
		{"-", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok := artifactURI(tt.file, tt.base)
			if got != tt.want || ok != tt.ok {
				t.Errorf("artifactURI(%q, %q) = %q, %v; want %q, %v", tt.file, tt.base, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSARIFUnnamedResource(t *testing.T) {
	r := &finding.Report{Findings: []finding.Finding{{
		RuleID: "KOR-KUBELET-002", Title: "t", Severity: finding.High,
		Resource: finding.Resource{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		Location: &finding.Location{File: "kubelet.yaml", Line: 1}, Message: "m",
	}}}
	var doc sarifDoc
	if err := json.Unmarshal(renderSARIF(t, r, Options{Now: fixedNow}), &doc); err != nil {
		t.Fatal(err)
	}
	res := doc.Runs[0].Results[0]
	ll := res.Locations[0].LogicalLocations[0]
	if ll.Name != "KubeletConfiguration" || ll.FullyQualifiedName != "kubelet.config.k8s.io/v1beta1/KubeletConfiguration" {
		t.Errorf("logical location = %+v, want the kind as name and no trailing slash", ll)
	}
	if res.Message.Text != "KubeletConfiguration: m" {
		t.Errorf("message = %q, want %q", res.Message.Text, "KubeletConfiguration: m")
	}
}
