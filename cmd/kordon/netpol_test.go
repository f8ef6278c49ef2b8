package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const netpolFixture = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: web}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {metadata: {labels: {app: api}}, spec: {containers: [{name: c, image: api, ports: [{name: http, containerPort: 8080}]}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
`

func TestNetpolAnalyzeJSON(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "app.yaml", netpolFixture)
	out, stderr, code := run(t, "", "netpol", "analyze", path, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var conns []struct {
		Src, SrcKind, Dst, DstKind string
		All                        bool
		Ports                      []string
	}
	if err := json.Unmarshal([]byte(out), &conns); err != nil {
		t.Fatalf("output is not the JSON contract: %v\n%s", err, out)
	}
	found := false
	for _, c := range conns {
		if c.Src == "shop/web" && c.Dst == "shop/api" {
			found = true
			if c.All || strings.Join(c.Ports, ",") != "TCP/8080" || c.SrcKind != "Deployment" {
				t.Errorf("web -> api = %+v, want TCP/8080 only", c)
			}
		}
		if c.Src == "shop/api" {
			t.Errorf("api's egress is denied, but %+v is listed", c)
		}
	}
	if !found {
		t.Errorf("web -> api missing from %s", out)
	}
}

func TestNetpolCanExitCodes(t *testing.T) {
	path := writeFile(t, t.TempDir(), "app.yaml", netpolFixture)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"shop/web", "shop/api", path, "--port", "tcp/8080"}, 0, "ALLOWED"},
		{[]string{"shop/web", "shop/api", path, "--port", "tcp/80"}, 1, "DENIED"},
		{[]string{"shop/api", "8.8.8.8", path}, 1, "no egress rule"},
		{[]string{"shop/nope", "shop/api", path}, 2, "no workload"},
		{[]string{"shop/web", "shop/api", path, "--port", "tcp/x"}, 2, "--port"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			out, stderr, code := run(t, "", append([]string{"netpol", "can"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, stderr)
			}
		})
	}
}

func TestNetpolLintReport(t *testing.T) {
	path := writeFile(t, t.TempDir(), "app.yaml", netpolFixture)
	out, stderr, code := run(t, "", "netpol", "lint", path, "-o", "json", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range rep.Findings {
		ids[f.RuleID] = true
	}
	for _, id := range []string{"KOR-NETPOL-002", "KOR-NETPOL-007"} {
		if !ids[id] {
			t.Errorf("lint lacks %s: %v", id, ids)
		}
	}
	if _, _, code := run(t, "", "netpol", "lint", path, "--fail-on", "high"); code != 1 {
		t.Errorf("--fail-on high with a high finding: exit %d, want 1", code)
	}
}

func TestNetpolCompileThenAnalyze(t *testing.T) {
	intent := writeFile(t, t.TempDir(), "intent.yaml", `apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
groups:
  web: {namespaces: [shop], labels: {app: web}}
  api: {namespaces: [shop], labels: {app: api}}
zones: [{namespaces: [shop]}]
rules: [{from: web, to: api, ports: [tcp/http]}]
`)
	policies, stderr, code := run(t, "", "netpol", "compile", intent)
	if code != 0 {
		t.Fatalf("compile: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", netpolFixture)
	writeFile(t, dir, "policies.yaml", policies)
	out, stderr, code := run(t, "", "netpol", "analyze", dir)
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}
	if want := "shop/web (Deployment) => shop/api (Deployment) : TCP/8080\n"; out != want {
		t.Errorf("analysis of the compiled intent = %q, want %q", out, want)
	}
}

func TestNetpolDiff(t *testing.T) {
	dir := t.TempDir()
	old := writeFile(t, dir, "old.yaml", netpolFixture)
	updated := writeFile(t, dir, "new.yaml", strings.Replace(netpolFixture, "ports: [{port: http}]", "ports: [{port: 9090}]", 1))
	out, _, code := run(t, "", "netpol", "diff", old, updated, "--exit-code")
	if code != 1 || !strings.Contains(out, "~ shop/web (Deployment) => shop/api (Deployment) : TCP/8080 -> TCP/9090") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestNetpolGenerate(t *testing.T) {
	dir := t.TempDir()
	app := writeFile(t, dir, "app.yaml", netpolFixture)
	flows := writeFile(t, dir, "flows.csv", "src,dst,protocol,port\nshop/web,shop/api,TCP,8080\n")
	out, stderr, code := run(t, "", "netpol", "generate", "--flows", flows, app)
	if code != 0 || !strings.Contains(stderr, "every observed flow stays allowed") || !strings.Contains(out, "kind: NetworkPolicy") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

func TestNetpolExamples(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "plain")
	out, stderr, code := run(t, "", "netpol", "analyze", examples)
	if code != 0 || !strings.Contains(out, "=>") {
		t.Errorf("analyze examples/plain: exit %d\n%s%s", code, out, stderr)
	}
}

// TestNetpolGenerateUnmatched checks that generate exits 1 when too many
// flows match no workload (or none can be used), shows them in the report,
// and takes --max-unmatched.
func TestNetpolGenerateUnmatched(t *testing.T) {
	dir := t.TempDir()
	app := writeFile(t, dir, "app.yaml", netpolFixture)
	flows := writeFile(t, dir, "flows.csv", "src,dst,protocol,port\nshop/web,shop/api,TCP,8080\n10.1.0.1,10.2.0.2,TCP,80\n10.1.0.3,10.2.0.4,TCP,80\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inReport string
	}{
		{"default limit", nil, 1, "2 of 3 flows (66.7%) matched no workload, more than the 50% allowed"},
		{"higher limit", []string{"--max-unmatched", "0.7"}, 0, "2 of 3 flows matched no workload, for example:\n  line 3: 10.1.0.1 -> 10.2.0.2 on TCP/80: neither end is a workload"},
		{"no manifests", []string{"--max-unmatched", "1"}, 1, "none of the 3 flows could be used: nothing learned"},
		{"bad limit", []string{"--max-unmatched", "2"}, 2, "want a share from 0 to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"netpol", "generate", "--flows", flows}, tt.args...)
			if tt.name != "no manifests" {
				args = append(args, app)
			} else {
				args = append(args, writeFile(t, dir, "empty.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"))
			}
			_, stderr, code := run(t, "", args...)
			if code != tt.code || !strings.Contains(stderr, tt.inReport) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tt.code, tt.inReport, stderr)
			}
		})
	}
}

// TestNetpolCompileRenamesAndSplits compiles an intent whose names are too
// long and whose address group makes a policy larger than
// --max-policy-size, and checks the report and the output.
func TestNetpolCompileRenamesAndSplits(t *testing.T) {
	var cidrs []string
	for i := range 3000 {
		cidrs = append(cidrs, fmt.Sprintf("198.18.%d.%d/32", i/256, i%256))
	}
	intent := fmt.Sprintf(`apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata: {name: %s}
groups:
  web: {namespaces: [shop], labels: {app: web}}
  partners: {cidrs: [%s]}
zones: [{namespaces: [shop]}]
rules: [{from: partners, to: web, ports: [tcp/443]}]
`, strings.Repeat("long", 62), strings.Join(cidrs, ", "))
	path := writeFile(t, t.TempDir(), "intent.yaml", intent)
	out, stderr, code := run(t, "", "netpol", "compile", path, "--max-policy-size", "64Ki")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kordon: renamed shop/" + strings.Repeat("long", 62) + "-default-deny to ", "kordon: split shop/"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(out, "kind: NetworkPolicy"); n < 3 {
		t.Errorf("%d policies, want the default deny and a split policy of at least 2 parts", n)
	}
	if _, stderr, code := run(t, "", "netpol", "compile", path, "--max-policy-size", "10Mi"); code != 2 || !strings.Contains(stderr, "want 64Ki to 1536Ki") {
		t.Errorf("--max-policy-size 10Mi: exit %d: %s", code, stderr)
	}
}

// TestNetpolRejectedPolicyIsAnError checks that a NetworkPolicy the API
// server would reject is reported with its file, left out, and makes the
// command exit 2 after writing its output: the analysis would otherwise show
// that traffic as open without a word.
func TestNetpolRejectedPolicyIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", netpolFixture)
	bad := writeFile(t, dir, "bad.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.1/8}}]}]
`)
	for _, args := range [][]string{{"netpol", "analyze", dir}, {"netpol", "lint", dir, "--fail-on", "none"}} {
		out, stderr, code := run(t, "", args...)
		if code != exitUsage || out == "" || !strings.Contains(stderr+out, bad) {
			t.Errorf("%v: exit %d (want 2), output %d bytes, the error must name %s:\n%s", args, code, len(out), bad, stderr)
		}
	}
}

func TestNetpolNamespaceForFiles(t *testing.T) {
	// Policies and workloads written without a namespace are in the one
	// given with -n, as kubectl apply -n puts them (default "default"),
	// consistently with kordon scan; an object written in another
	// namespace stays there.
	dir := t.TempDir()
	noNS := strings.ReplaceAll(netpolFixture, ", namespace: shop}", "}")
	path := writeFile(t, dir, "app.yaml", noNS)
	for _, c := range []struct {
		args []string
		ns   string
	}{{nil, "default"}, {[]string{"-n", "prod"}, "prod"}, {[]string{"--namespace", "team-a"}, "team-a"}} {
		out, stderr, code := run(t, "", append([]string{"netpol", "analyze", path}, c.args...)...)
		if code != exitOK {
			t.Fatalf("analyze %q: exit %d: %s", c.args, code, stderr)
		}
		if want := c.ns + "/web (Deployment) => " + c.ns + "/api (Deployment) : TCP/8080"; !strings.Contains(out, want) {
			t.Errorf("analyze %q: output lacks %q:\n%s", c.args, want, out)
		}
		if strings.Contains(out, c.ns+"/api (Deployment) =>") {
			t.Errorf("analyze %q: the policy does not isolate api in %s:\n%s", c.args, c.ns, out)
		}
	}
	if _, stderr, code := run(t, "", "netpol", "lint", path, "-A"); code != exitUsage || !strings.Contains(stderr, "--all-namespaces") {
		t.Errorf("lint -A on files: exit %d (%s), want 2", code, stderr)
	}
}
