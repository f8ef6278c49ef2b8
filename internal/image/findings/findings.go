// Package findings turns the vulnerabilities of an image scan into
// catalogue findings (KOR-IMG-VULN, for the shared report pipeline:
// exceptions, the --fail-on gate, table, SARIF, JUnit) and writes the
// image scan's own JSON contract, {"findings": [...]}, documented in
// docs/image.md.
package findings

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/secrets"
)

// Catalogue IDs of the image engine's checks.
const (
	// VulnRuleID: a known vulnerability in an image's package.
	VulnRuleID = "KOR-IMG-VULN"
	// SecretRuleID: a hard-coded secret in an image's file.
	SecretRuleID = "KOR-IMG-SECRET"
)

// IDs returns the catalogue IDs the image engine reports.
func IDs() []string { return []string{VulnRuleID, SecretRuleID} }

// SecretKind is the resource kind of a secret finding: Namespace is the
// secret's kind ("privatekey.PrivateKey") and Name the file's path.
const SecretKind = "Secret"

// SecretFindings converts found secrets to findings (catalogue severity).
func SecretFindings(finds []secrets.Find, title string, sev finding.Severity, controls []string) []finding.Finding {
	var out []finding.Finding
	for _, s := range finds {
		out = append(out, finding.Finding{
			RuleID: SecretRuleID, Title: title, Severity: sev, Controls: controls,
			Resource: finding.Resource{APIVersion: "kordon.dev/v1", Kind: SecretKind, Namespace: s.Kind, Name: s.Path},
			Location: &finding.Location{File: s.Path, Line: s.Line},
			Message: fmt.Sprintf("%s in %s line %d, layer %s (fingerprint %s; the value is not shown)",
				s.Kind, s.Path, s.Line, short(s.Layer), s.Fingerprint),
		})
	}
	return out
}

// KeepSecrets returns the secrets whose findings survived the pipeline.
func KeepSecrets(finds []secrets.Find, active []finding.Finding) []secrets.Find {
	keep := map[[3]string]bool{}
	for _, f := range active {
		if f.RuleID == SecretRuleID && f.Location != nil {
			keep[[3]string{f.Resource.Namespace, f.Resource.Name, fmt.Sprint(f.Location.Line)}] = true
		}
	}
	out := []secrets.Find{}
	for _, s := range finds {
		if keep[[3]string{s.Kind, s.Path, fmt.Sprint(s.Line)}] {
			out = append(out, s)
		}
	}
	return out
}

// Resource kind of a vulnerability finding: Namespace is the package name
// and Name the OSV ID, so that an exception names a record (and, when
// wanted, a package).
const Kind = "Vulnerability"

// Severity maps a vulnerability's severity to the findings' scale; a
// record without a score counts as medium.
func Severity(s string) finding.Severity {
	switch s {
	case "critical":
		return finding.Critical
	case "high":
		return finding.High
	case "low", "none":
		return finding.Low
	}
	return finding.Medium
}

// Options shape the conversion.
type Options struct {
	// Image names the scanned image in messages.
	Image string
	// IgnoreUnfixed drops vulnerabilities without a known fix.
	IgnoreUnfixed bool
}

// ToFindings converts vulnerabilities to findings, with the catalogue
// metadata of r (title, controls, remediation) filled in by the caller's
// catalogue lookup.
func ToFindings(vulns []match.Vuln, title string, controls []string, opts Options) []finding.Finding {
	var out []finding.Finding
	for _, v := range vulns {
		if opts.IgnoreUnfixed && v.FixedVersion == "" {
			continue
		}
		fix := "no fix known"
		if v.FixedVersion != "" {
			fix = "fixed in " + v.FixedVersion
		}
		aka := ""
		if len(v.Aliases) > 0 {
			aka = " (" + strings.Join(v.Aliases, ", ") + ")"
		}
		out = append(out, finding.Finding{
			RuleID:   VulnRuleID,
			Title:    title,
			Severity: Severity(v.Severity),
			Controls: controls,
			Resource: finding.Resource{APIVersion: "kordon.dev/v1", Kind: Kind, Namespace: v.Package.Name, Name: v.ID},
			Location: &finding.Location{File: v.Package.Path},
			Message: fmt.Sprintf("%s%s: %s %s (%s) in %s, layer %s: %s, %s", v.ID, aka, v.Package.Name, v.Package.Version,
				v.Package.Ecosystem, v.Package.Path, short(v.Package.Layer), severityText(v), fix),
		})
	}
	return out
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func severityText(v match.Vuln) string {
	if v.Score > 0 {
		return fmt.Sprintf("%s (CVSS %.1f)", v.Severity, v.Score)
	}
	return v.Severity + " severity"
}

// Package is a finding's package in the JSON contract.
type Package struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
	Version   string `json:"version"`
	PURL      string `json:"purl,omitempty"`
}

// JSONFinding is one finding of the JSON contract.
type JSONFinding struct {
	ID           string   `json:"id"`
	Aliases      []string `json:"aliases"`
	Summary      string   `json:"summary,omitempty"`
	Package      Package  `json:"package"`
	FixedVersion string   `json:"fixed_version"`
	Severity     string   `json:"severity"`
	CVSSScore    float64  `json:"cvss_score,omitempty"`
	CVSSVector   string   `json:"cvss_vector,omitempty"`
	Path         string   `json:"path"`
	Layer        string   `json:"layer"`
}

// Document is the JSON contract of kordon image scan -o json.
type Document struct {
	Image    string        `json:"image,omitempty"`
	Digest   string        `json:"digest,omitempty"`
	Findings []JSONFinding `json:"findings"`
	// Secrets are the hard-coded secrets found (values never shown);
	// empty when none were found or none were looked for.
	Secrets []secrets.Find `json:"secrets"`
	// Suppressed are findings an exception applies to.
	Suppressed []JSONFinding `json:"suppressed,omitempty"`
	Errors     []string      `json:"errors,omitempty"`
}

// Keep returns the vulnerabilities whose findings survived the pipeline
// (active), in order; key is (package name, OSV ID, path).
func Keep(vulns []match.Vuln, active []finding.Finding) []match.Vuln {
	keep := map[[3]string]bool{}
	for _, f := range active {
		if f.RuleID == VulnRuleID && f.Location != nil {
			keep[[3]string{f.Resource.Namespace, f.Resource.Name, f.Location.File}] = true
		}
	}
	var out []match.Vuln
	for _, v := range vulns {
		if keep[[3]string{v.Package.Name, v.ID, v.Package.Path}] {
			out = append(out, v)
		}
	}
	return out
}

// JSON converts vulnerabilities to the contract's findings.
func JSON(vulns []match.Vuln) []JSONFinding {
	out := []JSONFinding{}
	for _, v := range vulns {
		aliases := v.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		out = append(out, JSONFinding{
			ID: v.ID, Aliases: aliases, Summary: v.Summary,
			Package:      Package{Name: v.Package.Name, Ecosystem: v.Package.Ecosystem, Version: v.Package.Version, PURL: v.Package.PURL},
			FixedVersion: v.FixedVersion, Severity: v.Severity, CVSSScore: v.Score, CVSSVector: v.Vector,
			Path: v.Package.Path, Layer: v.Package.Layer,
		})
	}
	return out
}

// Write writes the document as indented JSON.
func Write(w io.Writer, d *Document) error {
	if d.Findings == nil {
		d.Findings = []JSONFinding{}
	}
	if d.Secrets == nil {
		d.Secrets = []secrets.Find{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
