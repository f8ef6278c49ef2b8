package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
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
	_, errOut, code = run(t, "", append(base, "--rule", "ACME-WID-001", "--resource", "Widget.example.com=v1alpha1/widgets", "-o", file)...)
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
	} {
		_, errOut, code := run(t, "", append(base, args...)...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: code %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}
