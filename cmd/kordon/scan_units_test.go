package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unitsData holds layouts of real repositories: a chart whose templates
// name no namespace, manifests applied with kubectl apply -n, staging and
// prod folders, and a kustomize base with two overlays.
var unitsData = filepath.Join("testdata", "units")

// unitFinding is a finding of the JSON report with its unit.
type unitFinding struct {
	RuleID   string `json:"ruleID"`
	Resource struct {
		Kind, Namespace, Name string
	} `json:"resource"`
	Location *struct {
		File          string `json:"file"`
		NamespaceFrom string `json:"namespaceFrom"`
	} `json:"location"`
	Unit *struct {
		Kind, Path, Namespace string
	} `json:"unit"`
}

// scanUnits runs kordon scan -o json in testdata/units and returns the
// findings as "RULE Kind ns/name @ unit-kind unit-path".
func scanUnits(t *testing.T, args ...string) ([]string, []unitFinding, string) {
	t.Helper()
	full := []string{"scan", "-o", "json"}
	for _, a := range args {
		if strings.HasPrefix(a, "@") {
			a = filepath.Join(unitsData, a[1:])
		}
		full = append(full, a)
	}
	out, errOut, code := run(t, "", full...)
	if code != exitOK && code != exitFindings {
		t.Fatalf("kordon %s: exit %d: %s", strings.Join(full, " "), code, errOut)
	}
	validateSchema(t, filepath.Join("..", "..", "docs", "schemas", "scan-report.schema.json"), out)
	var r struct {
		Findings []unitFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		s := f.RuleID + " " + f.Resource.Kind + " " + f.Resource.Namespace + "/" + f.Resource.Name
		if f.Unit != nil {
			rel, _ := filepath.Rel(unitsData, f.Unit.Path)
			s += " @ " + f.Unit.Kind + " " + filepath.ToSlash(rel)
		}
		got = append(got, s)
	}
	slices.Sort(got)
	return got, r.Findings, errOut
}

func TestScanChartJudgedInReleaseNamespace(t *testing.T) {
	// The chart's Deployment names no namespace; its ServiceAccount is
	// bound to cluster-admin in the release namespace. Judged in the
	// release namespace, the binding is found.
	got, fs, _ := scanUnits(t, "@chart", "--release-namespace", "payments", "--rule", "KOR-RBAC-015", "--rule", "KOR-RBAC-014")
	want := []string{
		"KOR-RBAC-014 Deployment payments/ops @ chart chart",
		"KOR-RBAC-015 ClusterRoleBinding /ops-admin @ chart chart",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
	for _, f := range fs {
		if f.Resource.Kind == "Deployment" && (f.Location == nil || f.Location.NamespaceFrom != "--release-namespace") {
			t.Errorf("the Deployment's location %+v does not say its namespace is the release namespace", f.Location)
		}
		if f.Unit == nil || f.Unit.Namespace != "payments" {
			t.Errorf("unit %+v, want the chart in namespace payments", f.Unit)
		}
	}
}

func TestScanApplyNamespace(t *testing.T) {
	// kubectl apply -n prod -f apply-n/: the Deployment runs as
	// prod/backup, which a ClusterRoleBinding makes cluster-admin.
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"-n prod", []string{"-n", "prod"}, []string{"KOR-RBAC-015 ClusterRoleBinding /backup-admin @ path apply-n"}},
		{"--namespace staging", []string{"--namespace", "staging"}, nil},
		{"default namespace", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, _ := scanUnits(t, append([]string{"@apply-n", "--rule", "KOR-RBAC-015"}, c.args...)...)
			if !slices.Equal(got, c.want) {
				t.Errorf("findings = %q, want %q", got, c.want)
			}
		})
	}
	// An object written in another namespace than -n is judged there, with
	// a warning naming its file and line.
	dir := t.TempDir()
	file := writeFile(t, dir, "app.yaml", strings.Replace(privilegedDeployment, "namespace: shop", "namespace: other", 1))
	out, errOut, code := run(t, "", "scan", file, "-n", "prod", "--rule", "KOR-POD-001", "-o", "json")
	if code != exitFindings {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r := decodeReport(t, out)
	if len(r.Findings) != 1 || r.Findings[0].Resource.Namespace != "other" {
		t.Errorf("findings %+v, want the Deployment in its own namespace other", r.Findings)
	}
	if !slices.ContainsFunc(r.Warnings, func(w struct {
		Message string `json:"message"`
	}) bool {
		return strings.Contains(w.Message, `names namespace "other", not "prod"`)
	}) {
		t.Errorf("warnings %+v lack the namespace mismatch", r.Warnings)
	}
}

func TestScanUnitsIsolation(t *testing.T) {
	// staging/ has a default-deny NetworkPolicy for namespace shop, prod/
	// has none: given as two paths they are two units, and staging's
	// policy does not satisfy prod.
	rules := []string{"--rule", "KOR-NET-001", "--rule", "KOR-NET-002"}
	got, _, _ := scanUnits(t, append([]string{"@envs/staging", "@envs/prod"}, rules...)...)
	want := []string{
		"KOR-NET-001 Namespace /shop @ path envs/prod",
		"KOR-NET-002 Deployment shop/web @ path envs/prod",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
	// As one cluster (the old behaviour), the policy covers both.
	got, _, _ = scanUnits(t, append([]string{"@envs/staging", "@envs/prod", "--one-cluster"}, rules...)...)
	if len(got) != 0 {
		t.Errorf("--one-cluster: findings = %q, want none", got)
	}
}

func TestScanKustomizeOverlaysOncePerOverlay(t *testing.T) {
	// The base's privileged Deployment is reported once per overlay that
	// renders it, not once more for the base.
	got, _, _ := scanUnits(t, "@kustomize", "--rule", "KOR-POD-001")
	want := []string{
		"KOR-POD-001 Deployment prod/web @ kustomization kustomize/overlays/prod",
		"KOR-POD-001 Deployment staging/web @ kustomization kustomize/overlays/staging",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
	got, _, _ = scanUnits(t, "@kustomize", "--rule", "KOR-POD-001", "--one-cluster")
	want = []string{
		"KOR-POD-001 Deployment default/web",
		"KOR-POD-001 Deployment prod/web",
		"KOR-POD-001 Deployment staging/web",
	}
	if !slices.Equal(got, want) {
		t.Errorf("--one-cluster: findings = %q, want %q", got, want)
	}
	// The table names each resource's unit when there are several.
	out, _, _ := run(t, "", "scan", filepath.Join(unitsData, "kustomize"), "--rule", "KOR-POD-001")
	for _, w := range []string{"in kustomization " + filepath.Join(unitsData, "kustomize/overlays/prod"), "in kustomization " + filepath.Join(unitsData, "kustomize/overlays/staging")} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
}

func TestScanExclude(t *testing.T) {
	out, errOut, code := run(t, "", "scan", filepath.Join(unitsData, "envs"), "--exclude", "staging/**", "--exclude", "*.md", "--rule", "KOR-NET-001", "-o", "json")
	if code != exitFindings {
		t.Fatalf("exit %d, want 1 (prod is not isolated once staging is excluded): %s", code, errOut)
	}
	var r struct {
		Warnings []struct{ File, Message string } `json:"warnings"`
		Summary  struct{ Excluded int }           `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var excluded []string
	for _, w := range r.Warnings {
		if strings.HasPrefix(w.Message, "excluded by --exclude") {
			excluded = append(excluded, w.File)
		}
	}
	if r.Summary.Excluded != 1 || len(excluded) != 1 || !strings.HasSuffix(excluded[0], "staging") {
		t.Errorf("excluded %d, warnings %+v; want staging excluded and named", r.Summary.Excluded, r.Warnings)
	}
	_, errOut, code = run(t, "", "scan", unitsData, "--exclude", "[")
	if code != exitUsage || !strings.Contains(errOut, "--exclude") {
		t.Errorf("a malformed glob: exit %d, stderr %q; want 2 naming --exclude", code, errOut)
	}
}

func TestScanNamespaceFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-A", unitsData}, "--all-namespaces goes with --cluster"},
		{[]string{"--cluster", "-A", "-n", "x"}, "exclude each other"},
		{[]string{"-n", "Not_A_Namespace", unitsData}, "--namespace"},
		{[]string{"--cluster", "--one-cluster"}, "go with paths"},
	} {
		_, errOut, code := run(t, "", append([]string{"scan"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("scan %q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestScanChartNamespaceFlag(t *testing.T) {
	// -n is the release namespace too, as helm template -n, unless
	// --release-namespace says otherwise.
	for _, c := range []struct {
		args []string
		ns   string
	}{
		{[]string{"-n", "ops"}, "ops"},
		{[]string{"-n", "ops", "--release-namespace", "tools"}, "tools"},
		{nil, "default"},
	} {
		_, fs, _ := scanUnits(t, append([]string{"@chart", "--rule", "KOR-RBAC-014"}, c.args...)...)
		if len(fs) != 1 || fs[0].Resource.Namespace != c.ns || fs[0].Unit == nil || fs[0].Unit.Namespace != c.ns {
			t.Errorf("scan chart %q: findings %+v, want the Deployment in %s", c.args, fs, c.ns)
		}
	}
}
