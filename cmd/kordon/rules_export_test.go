package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/rules/vap"
)

// exportRules are custom rules for the export tests: one exportable, one
// that reads the inventory, one on a custom kind.
const exportRules = customRule + `---
id: ACME-NS-001
title: Namespace without a NetworkPolicy
severity: medium
match:
  resources:
    - apiGroups: [""]
      kinds: [Namespace]
validations:
  - expression: size(inventory.namespace.NetworkPolicy) > 0
remediation: Add one.
---
id: ACME-WID-001
title: Widget without a size
severity: low
match:
  resources:
    - apiGroups: [example.com]
      kinds: [Widget]
validations:
  - expression: has(object.spec.size)
remediation: Set spec.size.
---
id: ACME-SVC-002
title: NodePort Service
severity: high
match:
  resources:
    - apiGroups: [""]
      kinds: [Service]
validations:
  - expression: "!has(object.spec.type) || object.spec.type != 'NodePort'"
remediation: Use a ClusterIP Service.
`

func TestRulesExport(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", exportRules)
	base := []string{"rules", "export", "--format", "vap", "--no-builtin", "--rules", dir}

	out, errOut, code := run(t, "", append(base, "--rule", "ACME-SVC-001,ACME-NS-001", "--action", "warn", "--exclude-namespaces=")...)
	if code != exitOK {
		t.Fatalf("export: code %d, stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, "skipped ACME-NS-001: reads the inventory") {
		t.Errorf("stderr does not name the skipped rule: %q", errOut)
	}
	if !strings.Contains(out, "#   ACME-NS-001: reads the inventory") {
		t.Errorf("output comment does not list the skipped rule:\n%s", out)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("got %d documents, want the comment, a policy and a binding:\n%s", len(docs), out)
	}
	var policy admissionv1.ValidatingAdmissionPolicy
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &policy); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[2]), &binding); err != nil {
		t.Fatal(err)
	}
	if policy.Name != "kordon-acme-svc-001" || binding.Spec.PolicyName != policy.Name {
		t.Errorf("got policy %q bound by %q, want kordon-acme-svc-001", policy.Name, binding.Spec.PolicyName)
	}
	if got := binding.Spec.ValidationActions; len(got) != 1 || got[0] != admissionv1.Warn {
		t.Errorf("--action warn: got %v", got)
	}
	if binding.Spec.MatchResources != nil {
		t.Errorf("--exclude-namespaces=: got %+v, want no namespace selector", binding.Spec.MatchResources)
	}

	// A custom kind needs a resource mapping; with one, the file is written.
	_, errOut, code = run(t, "", append(base, "--rule", "ACME-WID-001")...)
	if code != exitUsage || !strings.Contains(errOut, "ACME-WID-001") || !strings.Contains(errOut, "Widget.example.com") {
		t.Errorf("unmapped kind: code %d, stderr %q; want 2 naming the rule and kind", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "policies.yaml")
	_, errOut, code = run(t, "", append(base, "--rule", "ACME-WID-001", "--resource", "Widget.example.com=v1alpha1/widgets", "--output-file", file)...)
	data, _ := os.ReadFile(file)
	if code != exitOK || !strings.Contains(string(data), "- widgets") || !strings.Contains(string(data), "- v1alpha1") {
		t.Errorf("mapped kind: code %d, stderr %q, file:\n%s", code, errOut, data)
	}

	for _, args := range [][]string{
		{"--format", "kyverno"},
		{"--action", "block"},
		{"--action", "deny,warn"},
		{"--failure-policy", "Sometimes"},
		{"--namespace-selector", "env in prod"},
		{"--resource", "Widget"},
		{"--kubernetes-version", "1.29"},
		{"--kubernetes-version", "latest"},
		{"--rule", "ACME-NS-001"}, // nothing left to export
		{"--deny-severity", "severe"},
		{"--action", "warn", "--deny-severity", "high"},
		{"-o", "yml"},
	} {
		_, errOut, code := run(t, "", append(base, args...)...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: code %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

// exportedActions exports with extra flags and returns each binding's
// validationActions by rule ID, and stderr.
func exportedActions(t *testing.T, dir string, args ...string) (map[string][]admissionv1.ValidationAction, string) {
	t.Helper()
	base := []string{"rules", "export", "--format", "vap", "--no-builtin", "--rules", dir, "--rule", "ACME-SVC-001,ACME-SVC-002"}
	out, errOut, code := run(t, "", append(base, args...)...)
	if code != exitOK {
		t.Fatalf("%v: code %d, stderr %q", args, code, errOut)
	}
	got := map[string][]admissionv1.ValidationAction{}
	for _, doc := range strings.Split(out, "\n---\n")[1:] {
		var b admissionv1.ValidatingAdmissionPolicyBinding
		if err := yaml.Unmarshal([]byte(doc), &b); err != nil {
			t.Fatal(err)
		}
		if b.Kind == "ValidatingAdmissionPolicyBinding" {
			got[b.Labels[vap.LabelRuleID]] = b.Spec.ValidationActions
			if b.Annotations[vap.AnnotationActionReason] == "" {
				t.Errorf("%v: binding %s does not say why it has its actions", args, b.Name)
			}
		}
	}
	return got, errOut
}

// TestRulesExportActions checks how --deny-severity and --action decide the
// bindings' actions: by default rules of severity high and above deny and
// the others warn; --deny-severity moves the threshold; --action sets one
// set of actions for every rule; the two flags exclude each other
// (TestRulesExport).
func TestRulesExportActions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", exportRules)
	deny := []admissionv1.ValidationAction{admissionv1.Deny}
	warn := []admissionv1.ValidationAction{admissionv1.Warn}
	tests := []struct {
		args        []string
		low, high   []admissionv1.ValidationAction // ACME-SVC-001, ACME-SVC-002
		wantSummary string
	}{
		{nil, warn, deny, "kordon: 1 rule denies violations (severity high and above), 1 rule warns (below high)"},
		{[]string{"--deny-severity", "LOW"}, deny, deny, "kordon: 2 rules deny violations (severity low and above), 0 rules warn (below low)"},
		{[]string{"--deny-severity", "critical"}, warn, warn, "kordon: 0 rules deny violations (severity critical and above), 2 rules warn (below critical)"},
		{[]string{"--action", "deny"}, deny, deny, "kordon: validation actions Deny for every rule"},
		{[]string{"--action", "warn,audit"}, []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}, []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}, "kordon: validation actions Warn+Audit for every rule"},
	}
	for _, tt := range tests {
		got, errOut := exportedActions(t, dir, tt.args...)
		if !slices.Equal(got["ACME-SVC-001"], tt.low) || !slices.Equal(got["ACME-SVC-002"], tt.high) {
			t.Errorf("%v: low rule %v, high rule %v; want %v and %v", tt.args, got["ACME-SVC-001"], got["ACME-SVC-002"], tt.low, tt.high)
		}
		if !strings.Contains(errOut, tt.wantSummary+"\n") {
			t.Errorf("%v: stderr %q lacks the summary %q", tt.args, errOut, tt.wantSummary)
		}
	}
}

// TestRulesExportOutput checks -o (the format, as in every other command),
// --output-file, and the message for a file name given to -o, as before.
func TestRulesExportOutput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rules.yaml", exportRules)
	base := []string{"rules", "export", "--format", "vap", "--no-builtin", "--rules", dir, "--rule", "ACME-SVC-001,ACME-SVC-002"}

	yamlOut, _, code := run(t, "", base...)
	if code != exitOK || !strings.HasPrefix(yamlOut, "# Kordon rules as ValidatingAdmissionPolicies") {
		t.Fatalf("default: code %d, output:\n%s", code, yamlOut)
	}
	if again, _, _ := run(t, "", append(base, "-o", "yaml")...); again != yamlOut {
		t.Error("-o yaml differs from the default output")
	}

	jsonOut, errOut, code := run(t, "", append(base, "--output", "json")...)
	if code != exitOK {
		t.Fatalf("-o json: code %d, stderr %q", code, errOut)
	}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &list); err != nil || list.Kind != "List" || len(list.Items) != 4 {
		t.Fatalf("-o json: want a List of 2 policies and 2 bindings, got %v (%v):\n%s", list.Kind, err, jsonOut)
	}

	file := filepath.Join(t.TempDir(), "policies.json")
	out, errOut, code := run(t, "", append(base, "-o", "json", "--output-file", file)...)
	data, _ := os.ReadFile(file)
	if code != exitOK || out != "" || string(data) != jsonOut || !strings.Contains(errOut, "wrote 2 policies and bindings to "+file) {
		t.Errorf("--output-file: code %d, stdout %q, stderr %q, file:\n%s", code, out, errOut, data)
	}

	for _, arg := range []string{"policies.yaml", "out/policies", "-"} {
		_, errOut, code := run(t, "", append(base, "-o", arg)...)
		if code != exitUsage || !strings.Contains(errOut, "-o "+arg+": -o is the output format now (yaml or json)") {
			t.Errorf("-o %s: code %d, stderr %q; want 2 and a pointer to --output-file", arg, code, errOut)
		}
		if arg != "-" && !strings.Contains(errOut, "use --output-file "+arg) {
			t.Errorf("-o %s: stderr %q does not suggest --output-file %s", arg, errOut, arg)
		}
		if _, err := os.Stat(arg); err == nil {
			t.Errorf("-o %s wrote a file", arg)
		}
	}
}
