package report

import (
	"encoding/json"
	"io"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
)

// PolicyReport objects follow the wgpolicyk8s.io/v1alpha2 CRDs of the
// Kubernetes Policy working group (kubernetes-sigs/wg-policy-prototypes):
// one PolicyReport per namespace with results and one ClusterPolicyReport
// for resources without a namespace.

const (
	policyReportAPIVersion = "wgpolicyk8s.io/v1alpha2"
	policyReportPrefix     = "kordon-"
	clusterReportName      = "kordon-cluster"
)

type policyReport struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   policyReportMeta    `json:"metadata"`
	Summary    policyReportSummary `json:"summary"`
	Results    []policyResult      `json:"results"`
}

type policyReportMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels"`
}

type policyReportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

type policyResult struct {
	Source     string            `json:"source"`
	Policy     string            `json:"policy"`
	Rule       string            `json:"rule,omitempty"`
	Category   string            `json:"category,omitempty"`
	Severity   string            `json:"severity,omitempty"`
	Timestamp  policyTimestamp   `json:"timestamp"`
	Result     string            `json:"result"`
	Scored     bool              `json:"scored"`
	Resources  []objectReference `json:"resources,omitempty"`
	Message    string            `json:"message,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

type policyTimestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

type objectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

func writePolicyReport(w io.Writer, r *finding.Report, opts Options) error {
	ts := policyTimestamp{Seconds: opts.Now.Unix(), Nanos: int32(opts.Now.Nanosecond())}
	byNS := map[string][]policyResult{}
	add := func(ns string, res policyResult) { byNS[ns] = append(byNS[ns], res) }

	for _, f := range r.Findings {
		add(f.Resource.Namespace, policyResultOf(f, "fail", ts))
	}
	for _, f := range r.Suppressed {
		res := policyResultOf(f, "skip", ts)
		if f.Exception != nil {
			res.Properties["exception.reason"] = f.Exception.Reason
			res.Properties["exception.source"] = f.Exception.Source
			if f.Exception.Expires != "" {
				res.Properties["exception.expires"] = f.Exception.Expires
			}
		}
		add(f.Resource.Namespace, res)
	}
	// Rule evaluations that failed on a known resource are error results;
	// other problems concern input files, not resources, and stay out.
	for _, p := range r.Errors {
		if p.RuleID == "" || p.Resource == nil {
			continue
		}
		add(p.Resource.Namespace, policyResult{
			Source:    "kordon",
			Policy:    p.RuleID,
			Rule:      p.RuleID,
			Timestamp: ts,
			Result:    "error",
			Scored:    true,
			Resources: []objectReference{objectRef(*p.Resource)},
			Message:   p.Message,
		})
	}

	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		if ns != "" {
			namespaces = append(namespaces, ns)
		}
	}
	slices.Sort(namespaces)
	var docs []policyReport
	for _, ns := range namespaces {
		docs = append(docs, newPolicyReport("PolicyReport", policyReportPrefix+ns, ns, byNS[ns]))
	}
	docs = append(docs, newPolicyReport("ClusterPolicyReport", clusterReportName, "", byNS[""]))

	for i, d := range docs {
		out, err := marshalYAML(d)
		if err != nil {
			return err
		}
		sep := "---\n"
		if i == 0 {
			sep = ""
		}
		if _, err := io.WriteString(w, sep+string(out)); err != nil {
			return err
		}
	}
	return nil
}

func newPolicyReport(kind, name, namespace string, results []policyResult) policyReport {
	if results == nil {
		results = []policyResult{}
	}
	p := policyReport{
		APIVersion: policyReportAPIVersion,
		Kind:       kind,
		Metadata: policyReportMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "kordon"},
		},
		Results: results,
	}
	for _, res := range results {
		switch res.Result {
		case "pass":
			p.Summary.Pass++
		case "fail":
			p.Summary.Fail++
		case "warn":
			p.Summary.Warn++
		case "error":
			p.Summary.Error++
		case "skip":
			p.Summary.Skip++
		}
	}
	return p
}

func policyResultOf(f finding.Finding, result string, ts policyTimestamp) policyResult {
	props := map[string]string{}
	if len(f.Controls) > 0 {
		props["controls"] = strings.Join(f.Controls, ",")
	}
	if f.Remediation != "" {
		props["remediation"] = f.Remediation
	}
	if loc := where(f.Location); loc != "" {
		props["location"] = loc
	}
	rule := f.Title
	if rule == "" {
		rule = f.RuleID
	}
	return policyResult{
		Source:     "kordon",
		Policy:     f.RuleID,
		Rule:       rule,
		Category:   strings.Join(f.Frameworks(), ", "),
		Severity:   f.Severity.String(),
		Timestamp:  ts,
		Result:     result,
		Scored:     true,
		Resources:  []objectReference{objectRef(f.Resource)},
		Message:    f.Message,
		Properties: props,
	}
}

func objectRef(r finding.Resource) objectReference {
	return objectReference{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// marshalYAML writes v as YAML. Strings are first made printable in YAML's
// sense (text from manifests can hold control characters, which YAML cannot
// carry even quoted); each offending character becomes U+FFFD.
func marshalYAML(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return nil, err
	}
	return yaml.Marshal(yamlPrintable(generic))
}

func yamlPrintable(v any) any {
	switch v := v.(type) {
	case string:
		return strings.Map(func(r rune) rune {
			switch {
			case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
				return r
			case r < 0x20, r >= 0x7F && r < 0xA0, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
				return '\uFFFD'
			}
			return r
		}, v)
	case map[string]any:
		for k, x := range v {
			v[k] = yamlPrintable(x)
		}
	case []any:
		for i, x := range v {
			v[i] = yamlPrintable(x)
		}
	}
	return v
}
