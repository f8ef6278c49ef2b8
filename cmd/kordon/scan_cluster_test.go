package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestScanCluster runs kordon scan --cluster against a real API server
// through a kubeconfig file, as a user would.
func TestScanCluster(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "scan")
	objs, errs := k8s.Decode([]byte(privilegedDeployment), "deploy.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	k8s.Map(objs[0].Content, "metadata")["namespace"] = ns
	if _, err := env.Create(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	kubeconfig := env.Kubeconfig(t)

	out, errOut, code := run(t, "", "scan", "--cluster", "--kubeconfig", kubeconfig, "-n", ns, "-o", "json", "--rule", "KOR-POD-001")
	if code != exitFindings {
		t.Fatalf("exit code = %d, want 1; stderr: %s", code, errOut)
	}
	r := decodeReport(t, out)
	if !r.has("KOR-POD-001", "Deployment", "web") || len(r.Findings) != 1 {
		t.Errorf("findings = %+v, want KOR-POD-001 on Deployment web only", r.Findings)
	}
	if f := r.Findings[0]; f.Resource.Namespace != ns || f.Location == nil || f.Location.Line != 0 {
		t.Errorf("finding resource %+v location %+v: want namespace %s and no line", f.Resource, f.Location, ns)
	}

	_, _, code = run(t, "", "scan", "--cluster", "--kubeconfig", kubeconfig, "-n", "no-such-namespace", "--rule", "KOR-POD-001")
	if code != exitOK {
		t.Errorf("empty namespace: exit code = %d, want 0", code)
	}
	_, errOut, code = run(t, "", "scan", "--cluster", "--kubeconfig", t.TempDir()+"/missing")
	if code != exitUsage {
		t.Errorf("missing kubeconfig: exit code = %d, want 2 (%s)", code, errOut)
	}
	// -A (the default) reads every namespace; -n one.
	other := env.CreateNamespace(t, "scan-other")
	objs, _ = k8s.Decode([]byte(privilegedDeployment), "deploy.yaml")
	k8s.Map(objs[0].Content, "metadata")["namespace"] = other
	if _, err := env.Create(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	namespaces := func(args ...string) map[string]bool {
		t.Helper()
		out, errOut, code := run(t, "", append([]string{"scan", "--cluster", "--kubeconfig", kubeconfig, "-o", "json", "--rule", "KOR-POD-001"}, args...)...)
		if code != exitFindings {
			t.Fatalf("scan %q: exit code = %d, want 1; stderr: %s", args, code, errOut)
		}
		got := map[string]bool{}
		for _, f := range decodeReport(t, out).Findings {
			got[f.Resource.Namespace] = true
		}
		return got
	}
	for _, args := range [][]string{{"-A"}, {"--all-namespaces"}, nil} {
		if got := namespaces(args...); !got[ns] || !got[other] {
			t.Errorf("scan --cluster %q: findings in namespaces %v, want %s and %s", args, got, ns, other)
		}
	}
	if got := namespaces("-n", other); len(got) != 1 || !got[other] {
		t.Errorf("scan --cluster -n %s: findings in namespaces %v, want only it", other, got)
	}
	_, errOut, code = run(t, "", "scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-n", ns)
	if code != exitUsage || !strings.Contains(errOut, "exclude each other") {
		t.Errorf("-A with -n: exit code = %d (%s), want 2", code, errOut)
	}
}
