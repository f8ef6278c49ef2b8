package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A Deployment with one medium finding that depends on a parameter
// (KOR-IMG-003, an image from an untrusted registry) and a critical one
// (KOR-POD-001, privileged) that an exception can suppress.
const configDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/shop/web:1.4.0
          securityContext: {privileged: true}
`

// configRepo makes a git work tree holding manifests/app.yaml, with the
// configuration at its root, and changes into a sub-folder of it, as a
// user running kordon somewhere in a repository.
func configRepo(t *testing.T, config string) (root, manifests string) {
	t.Helper()
	root = t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "manifests/app.yaml", configDeployment)
	if config != "" {
		writeFile(t, root, ".kordon.yaml", config)
	}
	t.Chdir(filepath.Join(root, "manifests"))
	return root, "app.yaml"
}

func ruleIDs(r jsonReport) map[string]bool {
	out := map[string]bool{}
	for _, f := range r.Findings {
		out[f.RuleID] = true
	}
	return out
}

// TestConfigPrecedence: a flag on the command line beats the
// configuration, which beats the built-in default; --no-config and
// --config choose the file.
func TestConfigPrecedence(t *testing.T) {
	root, app := configRepo(t, `apiVersion: kordon.dev/v1alpha1
kind: Config
defaults:
  rule: [KOR-IMG-003]
commands:
  scan:
    fail-on: high
    output: json
`)
	// From the config: only KOR-IMG-003 (medium), fail-on high: exit 0.
	out, errOut, code := run(t, "", "scan", app)
	if code != exitOK {
		t.Fatalf("with the config: exit %d, want 0 (fail-on high from the config); stderr: %s", code, errOut)
	}
	r := decodeReport(t, out)
	if ids := ruleIDs(r); len(ids) != 1 || !ids["KOR-IMG-003"] {
		t.Errorf("findings %v, want only KOR-IMG-003 (--rule from defaults)", ids)
	}
	var header struct {
		Config string `json:"config"`
	}
	if err := json.Unmarshal([]byte(out), &header); err != nil || header.Config != filepath.Join(root, ".kordon.yaml") {
		t.Errorf("report config = %q, want %s", header.Config, filepath.Join(root, ".kordon.yaml"))
	}
	// The command line wins.
	if _, _, code := run(t, "", "scan", app, "--fail-on", "medium"); code != exitFindings {
		t.Errorf("--fail-on medium: exit %d, want 1", code)
	}
	// Without the config: built-in defaults (every rule, table, fail-on low).
	out, _, code = run(t, "", "scan", app, "--no-config")
	if code != exitFindings || strings.HasPrefix(out, "{") || !strings.Contains(out, "KOR-POD-001") {
		t.Errorf("--no-config: exit %d, want 1 with a table naming KOR-POD-001:\n%s", code, out)
	}
	// --config names another file, relative to the current folder.
	writeFile(t, root, "manifests/ci.yaml", "apiVersion: kordon.dev/v1alpha1\nkind: Config\ncommands:\n  scan:\n    rule: [KOR-POD-001]\n    output: json\n")
	out, _, code = run(t, "", "scan", app, "--config", "ci.yaml")
	if ids := ruleIDs(decodeReport(t, out)); code != exitFindings || len(ids) != 1 || !ids["KOR-POD-001"] {
		t.Errorf("--config ci.yaml: exit %d, findings %v; want 1 and only KOR-POD-001", code, ids)
	}
	if _, errOut, code := run(t, "", "scan", app, "--config", "ci.yaml", "--no-config"); code != exitUsage || !strings.Contains(errOut, "not both") {
		t.Errorf("--config with --no-config: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "scan", app, "--config", "missing.yaml"); code != exitUsage || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("--config missing.yaml: exit %d, %s", code, errOut)
	}
}

// TestConfigInvalid: a configuration found but invalid stops every
// command that reads one with exit 2, naming file, line and field.
func TestConfigInvalid(t *testing.T) {
	root, app := configRepo(t, `apiVersion: kordon.dev/v1alpha1
kind: Config
commands:
  scan:
    fail-onn: high
`)
	file := filepath.Join(root, ".kordon.yaml")
	_, errOut, code := run(t, "", "scan", app)
	if want := file + ":5: commands.scan.fail-onn: kordon scan has no flag --fail-onn (did you mean fail-on?)"; code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
	// A value the command refuses names where it is written.
	writeFile(t, root, ".kordon.yaml", "apiVersion: kordon.dev/v1alpha1\nkind: Config\ncommands:\n  scan:\n    fail-on: hgih\n")
	_, errOut, code = run(t, "", "scan", app)
	if want := "(--fail-on is set in " + file + ":5: commands.scan.fail-on)"; code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
	// --allow-remote is for the command line only.
	writeFile(t, root, ".kordon.yaml", "apiVersion: kordon.dev/v1alpha1\nkind: Config\ndefaults:\n  allow-remote: true\n")
	if _, errOut, code = run(t, "", "scan", app); code != exitUsage || !strings.Contains(errOut, ":4: defaults.allow-remote: --allow-remote cannot be set") {
		t.Errorf("allow-remote: exit %d, stderr %q", code, errOut)
	}
	// kordon version and kordon config init read no configuration.
	if _, errOut, code := run(t, "", "version"); code != exitOK {
		t.Errorf("version with an invalid config: exit %d, %s", code, errOut)
	}
}

// TestConfigParams: rule parameters from the configuration and --param
// change verdicts; values of the wrong type name the rule and the field.
func TestConfigParams(t *testing.T) {
	root, app := configRepo(t, "")
	scan := func(args ...string) (jsonReport, string, int) {
		t.Helper()
		out, errOut, code := run(t, "", append([]string{"scan", app, "-o", "json", "--rule", "KOR-IMG-003"}, args...)...)
		if code == exitUsage {
			return jsonReport{}, errOut, code
		}
		return decodeReport(t, out), errOut, code
	}
	if r, _, _ := scan(); !ruleIDs(r)["KOR-IMG-003"] {
		t.Fatalf("default trusted registries: want KOR-IMG-003, got %v", ruleIDs(r))
	}
	writeFile(t, root, ".kordon.yaml", `apiVersion: kordon.dev/v1alpha1
kind: Config
parameters:
  KOR-IMG-003:
    trustedRegistries: [registry.example.com/shop/]
`)
	if r, errOut, code := scan(); code != exitOK || len(r.Findings) != 0 {
		t.Errorf("trusted by the config: exit %d, findings %v; stderr %s", code, ruleIDs(r), errOut)
	}
	// --param wins over the file.
	if r, _, code := scan("--param", "KOR-IMG-003.trustedRegistries=registry.example.com/other/,docker.io/library/"); code != exitFindings || !ruleIDs(r)["KOR-IMG-003"] {
		t.Errorf("--param: exit %d, findings %v; want KOR-IMG-003", code, ruleIDs(r))
	}
	// rules show prints the value the rule runs with.
	out, _, _ := run(t, "", "rules", "show", "KOR-IMG-003")
	if !strings.Contains(out, `trustedRegistries (list(string)) = ["registry.example.com/shop/"]   (set; default ["registry.k8s.io/"`) {
		t.Errorf("rules show lacks the set parameter:\n%s", out)
	}
	// The VAP export writes the configured value into the expression.
	out, errOut, code := run(t, "", "rules", "export", "--format", "vap", "--rule", "KOR-IMG-003")
	if code != exitOK || !regexp.MustCompile(`\["registry\.example\.com/shop/"\]\s+name: trustedPrefixes`).MatchString(out) || strings.Contains(out, "params.") ||
		!strings.Contains(out, `kordon.io/parameters: '{"trustedRegistries":["registry.example.com/shop/"]}'`) {
		t.Errorf("vap export (exit %d, %s) does not inline the configured registries:\n%s", code, errOut, out)
	}

	file := filepath.Join(root, ".kordon.yaml")
	cases := []struct{ config, flag, want string }{
		{"    trustedRegistries: registry.example.com/\n", "",
			file + ":5: parameters.KOR-IMG-003.trustedRegistries: rule KOR-IMG-003 parameter trustedRegistries: want a list of strings, got \"registry.example.com/\""},
		{"    trustedRegistry: [x/]\n", "",
			file + `:5: parameters.KOR-IMG-003.trustedRegistry: rule KOR-IMG-003 has no parameter "trustedRegistry"; it has trustedRegistries`},
		{"    trustedRegistries: [x/]\n", "KOR-WL-010.minUserID=high",
			`--param KOR-WL-010.minUserID: rule KOR-WL-010 parameter minUserID: want a whole number, got "high"`},
		{"    trustedRegistries: [x/]\n", "KOR-IMG-03.trustedRegistries=x/",
			`--param KOR-IMG-03.trustedRegistries: no rule KOR-IMG-03 (did you mean KOR-IMG-003?)`},
	}
	for _, c := range cases {
		writeFile(t, root, ".kordon.yaml", "apiVersion: kordon.dev/v1alpha1\nkind: Config\nparameters:\n  KOR-IMG-003:\n"+c.config)
		var args []string
		if c.flag != "" {
			args = []string{"--param", c.flag}
		}
		if _, errOut, code := scan(args...); code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%q %q: exit %d, stderr %q; want 2 and %q", c.config, c.flag, code, errOut, c.want)
		}
	}
}

// TestConfigExceptions: inline exceptions and exceptions files of the
// configuration suppress findings, in addition to --exceptions.
func TestConfigExceptions(t *testing.T) {
	root, app := configRepo(t, `apiVersion: kordon.dev/v1alpha1
kind: Config
exceptions:
  - rule: KOR-POD-001
    namespace: shop
    reason: the web tier needs it until the migration
exceptionFiles: [security/more.yaml]
`)
	writeFile(t, root, "security/more.yaml", "exceptions:\n  - rule: KOR-IMG-003\n    reason: mirrored later\n")
	out, errOut, code := run(t, "", "scan", app, "-o", "json", "--rule", "KOR-POD-001,KOR-IMG-003")
	r := decodeReport(t, out)
	if code != exitOK || len(r.Findings) != 0 || len(r.Suppressed) != 2 {
		t.Fatalf("exit %d, findings %v, %d suppressed; want 0, none, 2; stderr %s", code, ruleIDs(r), len(r.Suppressed), errOut)
	}
	var sources struct {
		Suppressed []struct {
			Exception struct{ Source string } `json:"exception"`
		} `json:"suppressed"`
	}
	_ = json.Unmarshal([]byte(out), &sources)
	got := sources.Suppressed[0].Exception.Source + " " + sources.Suppressed[1].Exception.Source
	if !strings.Contains(got, filepath.Join(root, ".kordon.yaml")+":4") || !strings.Contains(got, filepath.Join(root, "security/more.yaml")) {
		t.Errorf("exception sources = %q, want the config's line and the file", got)
	}
}

// TestConfigInitAndShow: the starter file is valid as written, is not
// overwritten, and config show reports it and what scan runs with.
func TestConfigInitAndShow(t *testing.T) {
	root, _ := configRepo(t, "")
	t.Chdir(root)
	if _, errOut, code := run(t, "", "config", "init"); code != exitOK {
		t.Fatalf("config init: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "config", "init"); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("second config init: exit %d, %s; want 2 and a hint to --force", code, errOut)
	}
	out, errOut, code := run(t, "", "config", "show")
	file := filepath.Join(root, ".kordon.yaml")
	if code != exitOK || !strings.Contains(out, "configuration: "+file) || !strings.Contains(out, "--fail-on=high") {
		t.Errorf("config show: exit %d, %s\n%s", code, errOut, out)
	}
	out, _, _ = run(t, "", "config", "show", "scan")
	for _, want := range []string{"--fail-on                    high                           " + file + ":16: commands.scan.fail-on", "--min-severity               info                           default"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show scan lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := run(t, "", "config", "show", "scna"); code != exitUsage {
		t.Errorf("config show scna: exit %d, %s", code, errOut)
	}
	out, _, _ = run(t, "", "config", "show", "--no-config")
	if !strings.Contains(out, "configuration: none (--no-config)") {
		t.Errorf("config show --no-config:\n%s", out)
	}
}
