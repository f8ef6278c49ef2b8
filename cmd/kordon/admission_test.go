package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
)

func TestAdmissionServeCheckConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, config string
		wantCode     int
		wantOut      string
	}{
		{"valid", "rules: [{name: pss, select: {tags: [pss-restricted]}, action: enforce}]\ngovernance: {requireNetworkPolicy: {action: warn}}\n", 0, "configuration is valid"},
		{"bad action", "rules: [{name: pss, select: {tags: [pss-restricted]}, action: block}]\n", 2, `rules[0].action: "block": want enforce, warn or audit`},
		{"unknown rule", "rules: [{name: r, select: {ids: [KOR-NOPE-9]}, action: warn}]\n", 2, "no rule KOR-NOPE-9 in the catalogue"},
		{"misspelt kind", "rules: [{name: pss, select: {tags: [pss-restricted]}, action: enforce}]\ngovernance:\n  trustedImages:\n    action: enforce\n    kinds: [Pods]\n", 2,
			`misspelt-kind.yaml:5: governance.trustedImages.kinds[0]: "Pods" is not a built-in kind: did you mean Pod?`},
		{"unknown field", "rules:\n  - name: pss\n    select: {tags: [pss-restricted]}\n    acton: enforce\n", 2, `unknown-field.yaml:4: rules[0].acton: unknown field "acton" (did you mean action?)`},
		{"custom kind warned", "governance:\n  trustedImages:\n    bindings:\n      - action: warn\n        kinds: [example.com/Widget]\n", 0,
			`custom-kind-warned.yaml:5: governance.trustedImages.bindings[0].kinds[0]: "example.com/Widget": custom resource kind not checked`},
		{"parameters", "rules: [{name: img, select: {ids: [KOR-IMG-003]}, action: warn}]\nparameters:\n  KOR-IMG-003: {trustedRegistries: [registry.example.com/]}\n", 0, "configuration is valid"},
		{"bad parameter", "rules: [{name: img, select: {ids: [KOR-IMG-003]}, action: warn}]\nparameters:\n  KOR-IMG-003:\n    trustedRegistries: 3\n", 2,
			`bad-parameter.yaml:4: parameters.KOR-IMG-003.trustedRegistries: rule KOR-IMG-003 parameter trustedRegistries: want a list of strings, got 3`},
		{"inventory rule", "rules: [{name: r, select: {ids: [KOR-NET-001]}, action: warn}]\n", 2, "cannot run at admission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.config)
			stdout, stderr, code := run(t, "", "admission", "serve", "--config", cfg, "--check-config")
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (stderr %s)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.wantOut) {
				t.Errorf("output: got %q%q, want %q", stdout, stderr, tt.wantOut)
			}
		})
	}
}

func TestAdmissionInstallPrints(t *testing.T) {
	stdout, stderr, code := run(t, "", "admission", "install", "--namespace", "sec", "--failure-policy", "Ignore")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	objs, errs := k8s.Decode([]byte(stdout), "install")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.Kind()] = true
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Secret", "Deployment", "PodDisruptionBudget", "Service", "ValidatingWebhookConfiguration"} {
		if !kinds[k] {
			t.Errorf("install output lacks a %s", k)
		}
	}
	if !strings.Contains(stdout, "failurePolicy: Ignore") || !strings.Contains(stdout, "namespace: sec") {
		t.Errorf("flags not applied:\n%s", stdout)
	}
	if _, stderr, code := run(t, "", "admission", "install", "--failure-policy", "Maybe"); code != 2 || !strings.Contains(stderr, `failure policy "Maybe"`) {
		t.Errorf("bad --failure-policy: got code %d, stderr %q", code, stderr)
	}
}

func TestAdmissionInstallClientAuth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "apiserver")
	stdout, stderr, code := run(t, "", "admission", "install", "--client-auth-dir", dir, "--client-cn", "apiserver-a", "--apiserver-dir", "/srv/kordon")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "--client-cn=apiserver-a") || !strings.Contains(stdout, "kordon-admission-client-ca") {
		t.Errorf("install output lacks the client CA and CN:\n%s", stdout)
	}
	if !strings.Contains(stderr, "--admission-control-config-file=/srv/kordon/admission-config.yaml") {
		t.Errorf("stderr does not say how to start the API server: %q", stderr)
	}
	for _, name := range []string{"admission-config.yaml", "webhook-kubeconfig.yaml", "client-ca.crt"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	ac, _ := os.ReadFile(filepath.Join(dir, "admission-config.yaml"))
	if !strings.Contains(string(ac), `kubeConfigFile: "/srv/kordon/webhook-kubeconfig.yaml"`) {
		t.Errorf("admission-config.yaml does not name the kubeconfig in --apiserver-dir:\n%s", ac)
	}
	// A second run into the same folder is refused: it would mix keys.
	if _, stderr, code := run(t, "", "admission", "install", "--client-auth-dir", dir); code != 2 || !strings.Contains(stderr, "exists") {
		t.Errorf("existing --client-auth-dir: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := run(t, "", "admission", "install", "--client-cn", "x"); code != 2 || !strings.Contains(stderr, "need --client-auth-dir") {
		t.Errorf("--client-cn alone: code %d, stderr %q", code, stderr)
	}
}
