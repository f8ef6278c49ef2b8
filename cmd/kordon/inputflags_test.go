package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// objectCommands are the command lines (before their paths) of every
// command that reads objects.
var objectCommands = [][]string{
	{"scan"},
	{"netpol", "analyze"},
	{"netpol", "can", "shop/web", "shop/api"},
	{"netpol", "lint"},
	{"netpol", "generate", "--flows", "FLOWS"},
}

// withPaths is the command line cmd followed by paths, with FLOWS replaced
// by a flow file.
func withPaths(t *testing.T, cmd []string, paths ...string) []string {
	t.Helper()
	out := append([]string{}, cmd...)
	for i, a := range out {
		if a == "FLOWS" {
			out[i] = writeFile(t, t.TempDir(), "flows.csv", "src,dst,protocol,port\nshop/web,shop/api,TCP,8080\n")
		}
	}
	return append(out, paths...)
}

// TestInputFlagsShared: every command that reads objects takes the same
// input flags, with scan's names and defaults.
func TestInputFlagsShared(t *testing.T) {
	want := map[string]string{
		"values": "[]", "set": "[]", "set-string": "[]", "release-name": "release", "release-namespace": "default",
		"helm-timeout": "30s", "helm-max-output": "64Mi", "max-file-size": "64Mi", "allow-remote": "false",
		"cluster": "false", "kubeconfig": "", "context": "", "namespace": "",
	}
	for _, args := range append(objectCommands, []string{"netpol", "diff"}) {
		cmd, _, err := newRootCmd().Find(args)
		if err != nil {
			t.Fatal(err)
		}
		for name, def := range want {
			f := cmd.Flags().Lookup(name)
			if f == nil {
				t.Errorf("%s has no --%s", cmd.CommandPath(), name)
				continue
			}
			if f.DefValue != def {
				t.Errorf("%s --%s defaults to %q, want %q", cmd.CommandPath(), name, f.DefValue, def)
			}
		}
	}
}

// TestNothingToReadIsAnError: input with no Kubernetes object at all is an
// error naming what was given, for every command, never a clean result.
func TestNothingToReadIsAnError(t *testing.T) {
	empty := t.TempDir()
	noManifests := t.TempDir()
	writeFile(t, noManifests, "README.md", "# docs\n")
	writeFile(t, noManifests, "values.yaml", "replicaCount: 1\n")
	good := writeFile(t, t.TempDir(), "app.yaml", netpolFixture)
	inputs := []struct {
		name  string
		path  string
		stdin string
		named string
	}{
		{"empty folder", empty, "", `"` + empty + `"`},
		{"folder without manifests", noManifests, "", `"` + noManifests + `"`},
		{"empty standard input", "-", "", "standard input"},
		{"standard input without objects", "-", "replicaCount: 1\n", "standard input"},
	}
	for _, cmd := range append(objectCommands, []string{"netpol", "diff", good}) {
		for _, in := range inputs {
			t.Run(strings.Join(cmd[:min(2, len(cmd))], " ")+"/"+in.name, func(t *testing.T) {
				_, stderr, code := run(t, in.stdin, withPaths(t, cmd, in.path)...)
				if code != exitUsage || !strings.Contains(stderr, "no Kubernetes objects found in "+in.named) {
					t.Errorf("exit %d, stderr %q; want 2 and an error naming %s", code, stderr, in.named)
				}
			})
		}
	}
}

// brokenInputs writes, beside good, a chart that does not render and a
// kustomization that does not build.
func brokenInputs(t *testing.T, dir string) (chart, kustomization string) {
	t.Helper()
	writeFile(t, dir, "broken-chart/Chart.yaml", "apiVersion: v2\nname: broken\nversion: 0.1.0\n")
	writeFile(t, dir, "broken-chart/templates/cm.yaml", "metadata: {{ .Values.x | nosuchfunction }}\n")
	writeFile(t, dir, "broken-kustomization/kustomization.yaml", "resources: [missing.yaml]\n")
	return filepath.Join(dir, "broken-chart"), filepath.Join(dir, "broken-kustomization")
}

// TestScanBrokenPartsKeepTheRest: a chart or kustomization that fails is
// an error of the report, naming it, and the rest is still scanned.
func TestScanBrokenPartsKeepTheRest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", privilegedDeployment)
	chart, kust := brokenInputs(t, dir)
	out, stderr, code := run(t, "", "scan", dir, "-o", "json", "--rule", "KOR-POD-001")
	if code != exitUsage {
		t.Errorf("exit %d, want 2 (input errors); stderr %s", code, stderr)
	}
	r := decodeReport(t, out)
	if !r.has("KOR-POD-001", "Deployment", "web") {
		t.Errorf("the finding of app.yaml is missing: %+v", r.Findings)
	}
	var files []string
	for _, e := range r.Errors {
		files = append(files, e.File)
	}
	if strings.Join(files, ",") != chart+","+kust {
		t.Errorf("errors name %q, want the chart and the kustomization", files)
	}
}

// TestNetpolBrokenPartsKeepTheRest: the same for netpol, which prints the
// errors, writes its output and exits with status 2.
func TestNetpolBrokenPartsKeepTheRest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", netpolFixture)
	chart, kust := brokenInputs(t, dir)
	out, stderr, code := run(t, "", "netpol", "analyze", dir)
	if code != exitUsage || !strings.Contains(out, "shop/web (Deployment) => shop/api (Deployment) : TCP/8080") {
		t.Errorf("analyze: exit %d, output %q; want 2 and the connections of app.yaml", code, out)
	}
	for _, want := range []string{"kordon: error: " + chart + ": render chart", "kordon: error: " + kust + ": kustomize build", "2 input errors"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	out, _, code = run(t, "", "netpol", "lint", dir, "-o", "json", "--fail-on", "none")
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitUsage || len(rep.Findings) == 0 {
		t.Errorf("lint: exit %d, %d findings, %v; want 2 and the findings of app.yaml", code, len(rep.Findings), err)
	}
	_, _, code = run(t, "", "netpol", "can", "shop/web", "shop/api", dir, "--port", "tcp/9999")
	if code != exitUsage {
		t.Errorf("can, denied, with input errors: exit %d, want 2", code)
	}
}

// TestNetpolHelmFlags: netpol renders charts with the values it is given,
// as scan does.
func TestNetpolHelmFlags(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Chart.yaml", "apiVersion: v2\nname: shop\nversion: 0.1.0\n")
	writeFile(t, dir, "values.yaml", "denyAll: false\n")
	writeFile(t, dir, "templates/app.yaml", netpolFixture+`{{- if .Values.denyAll }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
{{- end }}
`)
	const conn = "shop/web (Deployment) => 0.0.0.0/0 : all"
	if out, stderr, code := run(t, "", "netpol", "analyze", dir); code != exitOK || !strings.Contains(out, conn) {
		t.Fatalf("default values: exit %d, output %q, stderr %s", code, out, stderr)
	}
	if out, stderr, code := run(t, "", "netpol", "analyze", dir, "--set", "denyAll=true"); code != exitOK || strings.Contains(out, conn) {
		t.Errorf("--set denyAll=true: exit %d, output %q, stderr %s; want web's egress denied", code, out, stderr)
	}
}

// TestInputLimitFlags: --max-file-size, --helm-timeout and --helm-max-output
// make a file or chart over its limit an input error naming it and the
// flag; the rest is still scanned.
func TestInputLimitFlags(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", privilegedDeployment)
	big := writeFile(t, dir, "big.yaml", privilegedDeployment+"# "+strings.Repeat("x", 2000)+"\n")
	writeFile(t, dir, "loop/Chart.yaml", "apiVersion: v2\nname: loop\nversion: 0.1.0\n")
	// 100 million empty iterations: seconds of work, far beyond the budget,
	// and still ending on its own once the test has given up on it.
	writeFile(t, dir, "loop/templates/spin.yaml", "{{- range 100000000 }}{{ end }}\n")
	out, stderr, code := run(t, "", "scan", dir, "-o", "json", "--rule", "KOR-POD-001",
		"--max-file-size", "1Ki", "--helm-timeout", "300ms", "--helm-max-output", "32Ki")
	if code != exitUsage {
		t.Errorf("exit %d, want 2; stderr %s", code, stderr)
	}
	r := decodeReport(t, out)
	if len(r.Findings) != 1 || !r.has("KOR-POD-001", "Deployment", "web") {
		t.Errorf("findings = %+v, want the one of app.yaml", r.Findings)
	}
	want := map[string]string{
		big:                        "--max-file-size",
		filepath.Join(dir, "loop"): "--helm-timeout",
	}
	for _, e := range r.Errors {
		if flag, ok := want[e.File]; ok && strings.Contains(e.Message, flag) {
			delete(want, e.File)
		}
	}
	if len(want) > 0 {
		t.Errorf("errors %+v lack these files with their flag: %v", r.Errors, want)
	}

	// The output budget, in a run of its own with a time budget that a
	// loaded machine cannot exhaust first.
	wideDir := t.TempDir()
	writeFile(t, wideDir, "app.yaml", privilegedDeployment)
	writeFile(t, wideDir, "wide/Chart.yaml", "apiVersion: v2\nname: wide\nversion: 0.1.0\n")
	writeFile(t, wideDir, "wide/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n{{- range $i := until 1000 }}\n  k{{ $i }}: {{ repeat 100 \"x\" }}\n{{- end }}\n")
	out, stderr, code = run(t, "", "scan", wideDir, "-o", "json", "--rule", "KOR-POD-001", "--helm-timeout", "5m", "--helm-max-output", "32Ki")
	if code != exitUsage {
		t.Errorf("output budget: exit %d, want 2; stderr %s", code, stderr)
	}
	r = decodeReport(t, out)
	if len(r.Errors) != 1 || r.Errors[0].File != filepath.Join(wideDir, "wide") || !strings.Contains(r.Errors[0].Message, "--helm-max-output") {
		t.Errorf("output budget: errors %+v, want one naming the chart and --helm-max-output", r.Errors)
	}

	for _, bad := range [][]string{{"--max-file-size", "lots"}, {"--max-file-size", "0"}, {"--helm-max-output", "-1Mi"}, {"--helm-timeout", "0s"}} {
		if _, _, code := run(t, "", append([]string{"scan", dir}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
