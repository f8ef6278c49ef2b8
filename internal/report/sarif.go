package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/kordon-dev/kordon/internal/finding"
)

// SARIF constants.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
	// InformationURI is the project page SARIF names as the tool's home.
	InformationURI = "https://github.com/kordon-dev/kordon"
	// fingerprintKey names Kordon's partial fingerprint: a hash of the rule
	// and the resource, stable across edits that move the resource.
	fingerprintKey = "kordonResource/v1"
)

// securitySeverity maps a severity to the numeric "security-severity"
// property GitHub code scanning uses to label alerts (critical above 9.0,
// high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9).
func securitySeverity(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return "9.5"
	case finding.High:
		return "8.0"
	case finding.Medium:
		return "5.5"
	case finding.Low:
		return "3.0"
	default:
		return "1.0"
	}
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s == finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name,omitempty"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifHelp         `json:"help"`
	HelpURI              string            `json:"helpUri,omitempty"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProperty `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProperty struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
	Severity         string   `json:"kordon-severity"`
	Precision        string   `json:"precision"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	EndTimeUTC          string              `json:"endTimeUtc"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level      string           `json:"level"`
	Message    sarifText        `json:"message"`
	Locations  []sarifLocation  `json:"locations,omitempty"`
	Descriptor *sarifDescriptor `json:"associatedRule,omitempty"`
}

type sarifDescriptor struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	State         string `json:"state"`
	Justification string `json:"justification"`
}

func writeSARIF(w io.Writer, r *finding.Report, opts Options) error {
	rules, index := sarifRules(r, opts)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "kordon",
			Version:        r.Tool.Version,
			InformationURI: InformationURI,
			Rules:          rules,
		}},
		Invocations: []sarifInvocation{{
			ExecutionSuccessful: len(r.Errors) == 0,
			EndTimeUTC:          opts.Now.Format(time.RFC3339),
			Notifications:       sarifNotifications(r, opts),
		}},
		Results: []sarifResult{},
	}
	if opts.Target != "" || opts.Config != "" {
		run.Properties = map[string]any{}
		if opts.Target != "" {
			run.Properties["target"] = opts.Target
		}
		if opts.Config != "" {
			run.Properties["config"] = opts.Config
		}
	}
	occurrences := map[string]int{}
	fingerprintOf := func(f finding.Finding) string {
		h := fingerprint(f)
		occurrences[h]++
		return fmt.Sprintf("%s:%d", h, occurrences[h])
	}
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarifResultOf(f, index[f.RuleID], fingerprintOf(f), opts))
	}
	for _, f := range r.Suppressed {
		res := sarifResultOf(f, index[f.RuleID], fingerprintOf(f), opts)
		s := sarifSuppression{Kind: "external", State: "accepted"}
		if f.Exception != nil {
			s.Justification = f.Exception.Reason
			if res.Properties == nil {
				res.Properties = map[string]any{}
			}
			res.Properties["exceptionSource"] = f.Exception.Source
			if f.Exception.Expires != "" {
				res.Properties["exceptionExpires"] = f.Exception.Expires
			}
		}
		res.Suppressions = []sarifSuppression{s}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// sarifRules describes every rule that has a finding, sorted by ID, and
// returns each rule's index.
func sarifRules(r *finding.Report, opts Options) ([]sarifRule, map[string]int) {
	byID := map[string]finding.Finding{}
	for _, fs := range [][]finding.Finding{r.Findings, r.Suppressed} {
		for _, f := range fs {
			// Findings are sorted worst first, so the first one seen
			// carries the rule's highest severity.
			if _, ok := byID[f.RuleID]; !ok {
				byID[f.RuleID] = f
			}
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules := make([]sarifRule, 0, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		f := byID[id]
		index[id] = i
		doc := opts.Rules[id]
		full := doc.Description
		if full == "" {
			full = f.Title
		}
		helpText, helpMD := sarifHelpText(f, doc)
		tags := []string{"security", "kubernetes"}
		tags = append(tags, f.Frameworks()...)
		tags = append(tags, f.Controls...)
		rules = append(rules, sarifRule{
			ID:                   id,
			Name:                 ruleName(f.Title, id),
			ShortDescription:     sarifText{Text: f.Title},
			FullDescription:      sarifText{Text: full},
			Help:                 sarifHelp{Text: helpText, Markdown: helpMD},
			HelpURI:              doc.HelpURI,
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(f.Severity)},
			Properties: sarifRuleProperty{
				Tags:             tags,
				SecuritySeverity: securitySeverity(f.Severity),
				Severity:         f.Severity.String(),
				Precision:        "very-high",
			},
		})
	}
	return rules, index
}

func sarifHelpText(f finding.Finding, doc RuleDoc) (text, markdown string) {
	var t, md []string
	t = append(t, f.Title+".")
	md = append(md, "**"+f.Title+"**")
	if doc.Description != "" {
		t = append(t, doc.Description)
		md = append(md, doc.Description)
	}
	if f.Remediation != "" {
		t = append(t, "Remediation: "+f.Remediation)
		md = append(md, "**Remediation:** "+f.Remediation)
	}
	if len(f.Controls) > 0 {
		t = append(t, "Controls: "+strings.Join(f.Controls, ", "))
		quoted := make([]string, len(f.Controls))
		for i, c := range f.Controls {
			quoted[i] = "`" + c + "`"
		}
		md = append(md, "**Controls:** "+strings.Join(quoted, ", "))
	}
	if doc.HelpURI != "" {
		t = append(t, "More: "+doc.HelpURI)
		md = append(md, "[Rule documentation]("+doc.HelpURI+")")
	}
	return strings.Join(t, "\n\n"), strings.Join(md, "\n\n")
}

// ruleName turns a title such as "Container runs privileged" into the
// SARIF rule name "ContainerRunsPrivileged".
func ruleName(title, id string) string {
	var b strings.Builder
	for _, word := range strings.FieldsFunc(title, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		rs := []rune(word)
		b.WriteRune(unicode.ToUpper(rs[0]))
		b.WriteString(string(rs[1:]))
	}
	if b.Len() == 0 {
		return id
	}
	return b.String()
}

func sarifResultOf(f finding.Finding, ruleIndex int, fp string, opts Options) sarifResult {
	loc := sarifLocation{LogicalLocations: []sarifLogical{logicalLocation(f.Resource)}}
	if f.Location != nil {
		if uri, ok := artifactURI(f.Location.File, opts.BaseDir); ok {
			// GitHub code scanning needs a region; line 1 stands for "the
			// file" when the object's line is unknown.
			loc.PhysicalLocation = &sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: uri},
				Region:           &sarifRegion{StartLine: max(f.Location.Line, 1)},
			}
		}
	}
	res := sarifResult{
		RuleID:              f.RuleID,
		RuleIndex:           ruleIndex,
		Level:               sarifLevel(f.Severity),
		Message:             sarifText{Text: resourceLabel(f.Resource) + ": " + f.Message},
		Locations:           []sarifLocation{loc},
		PartialFingerprints: map[string]string{fingerprintKey: fp},
	}
	if f.Unit != nil {
		// The unit of input the resource was judged in (see
		// docs/json-output.md).
		res.Properties = map[string]any{"unit": f.Unit.String()}
	}
	return res
}

func sarifNotifications(r *finding.Report, opts Options) []sarifNotification {
	out := []sarifNotification{}
	add := func(level string, p finding.Problem) {
		n := sarifNotification{Level: level, Message: sarifText{Text: p.Message}}
		if uri, ok := artifactURI(p.File, opts.BaseDir); ok {
			phys := &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}
			if p.Line > 0 {
				phys.Region = &sarifRegion{StartLine: p.Line}
			}
			n.Locations = []sarifLocation{{PhysicalLocation: phys}}
		}
		if p.Resource != nil {
			logical := logicalLocation(*p.Resource)
			if len(n.Locations) == 0 {
				n.Locations = []sarifLocation{{}}
			}
			n.Locations[0].LogicalLocations = []sarifLogical{logical}
		}
		if p.RuleID != "" {
			n.Descriptor = &sarifDescriptor{ID: p.RuleID}
		}
		out = append(out, n)
	}
	for _, p := range r.Errors {
		add("error", p)
	}
	for _, p := range r.Warnings {
		add("warning", p)
	}
	return out
}

// logicalLocation names a resource as a SARIF logical location; an object
// without a name is named by its kind.
func logicalLocation(r finding.Resource) sarifLogical {
	name := r.Name
	if name == "" {
		name = r.Kind
	}
	return sarifLogical{Name: name, FullyQualifiedName: resourceFQN(r), Kind: "resource"}
}

// resourceFQN names a resource fully: apiVersion, kind, namespace and name,
// e.g. "apps/v1/Deployment/payments/api" or "rbac.authorization.k8s.io/v1/ClusterRole/admin".
func resourceFQN(r finding.Resource) string {
	parts := []string{r.APIVersion, r.Kind}
	if r.Namespace != "" {
		parts = append(parts, r.Namespace)
	}
	if r.Name != "" {
		parts = append(parts, r.Name)
	}
	return strings.Join(parts, "/")
}

// fingerprint is a stable hash of the rule and the resource: it does not
// change when the resource moves within a file or the message wording
// changes. Results append ":n", the occurrence of the hash in the run (in
// sorted order), so that two findings of one rule on one resource (say, two
// containers) stay two alerts.
func fingerprint(f finding.Finding) string {
	group, _, _ := strings.Cut(f.Resource.APIVersion, "/")
	if !strings.Contains(f.Resource.APIVersion, "/") {
		group = "" // core group: "v1"
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{f.RuleID, group, f.Resource.Kind, f.Resource.Namespace, f.Resource.Name}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// artifactURI turns a file name into a SARIF artifact URI: a relative path
// with forward slashes (relative to baseDir when the file is under it), or a
// file:// URI for an absolute path elsewhere. Standard input and
// descriptions such as "cluster" have no artifact; ok is false for them.
func artifactURI(file, baseDir string) (uri string, ok bool) {
	if file == "" || file == "-" || file == "cluster" {
		return "", false
	}
	p := filepath.Clean(file)
	if filepath.IsAbs(p) && baseDir != "" {
		if base, err := filepath.Abs(baseDir); err == nil {
			if rel, err := filepath.Rel(base, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	slashed := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // Windows drive paths
		}
		return (&url.URL{Scheme: "file", Path: slashed}).String(), true
	}
	slashed = path.Clean(slashed)
	return (&url.URL{Path: slashed}).String(), true
}
