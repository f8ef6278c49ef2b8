package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestNetpolCluster runs kordon netpol analyze and can with --cluster
// against a real API server through a kubeconfig file, as a user would.
func TestNetpolCluster(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "netpol")
	objs, errs := k8s.Decode([]byte(strings.ReplaceAll(netpolFixture, "namespace: shop", "namespace: "+ns)), "app.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	for _, o := range objs {
		if o.Kind() == "Deployment" { // the API server requires a selector
			app := o.Name()
			k8s.Map(o.Content, "spec")["selector"] = map[string]any{"matchLabels": map[string]any{"app": app}}
		}
	}
	if _, err := env.Create(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	kubeconfig := env.Kubeconfig(t)

	out, errOut, code := run(t, "", "netpol", "analyze", "--cluster", "--kubeconfig", kubeconfig)
	if code != exitOK {
		t.Fatalf("analyze: exit %d: %s", code, errOut)
	}
	if want := ns + "/web (Deployment) => " + ns + "/api (Deployment) : TCP/8080"; !strings.Contains(out, want) {
		t.Errorf("analyze output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, ns+"/api (Deployment) =>") {
		t.Errorf("api's egress is denied, but the output lists a connection from it:\n%s", out)
	}
	_, _, code = run(t, "", "netpol", "can", ns+"/web", ns+"/api", "--cluster", "--kubeconfig", kubeconfig, "--port", "tcp/9090")
	if code != exitFindings {
		t.Errorf("can on a denied port: exit %d, want 1", code)
	}
	// -A is every namespace (the default); -n reads one.
	for _, args := range [][]string{{"-A"}, {"-n", ns}} {
		out, errOut, code := run(t, "", append([]string{"netpol", "analyze", "--cluster", "--kubeconfig", kubeconfig}, args...)...)
		if code != exitOK || !strings.Contains(out, ns+"/web (Deployment) => "+ns+"/api (Deployment)") {
			t.Errorf("analyze %q: exit %d (%s), output lacks web => api:\n%s", args, code, errOut, out)
		}
	}
	out, errOut, code = run(t, "", "netpol", "analyze", "--cluster", "--kubeconfig", kubeconfig, "-n", "no-such-namespace")
	if code != exitOK || strings.Contains(out, ns+"/") {
		t.Errorf("analyze -n no-such-namespace: exit %d (%s), output names %s:\n%s", code, errOut, ns, out)
	}
	if _, errOut, code := run(t, "", "netpol", "analyze", "--cluster", "--kubeconfig", kubeconfig, "-A", "-n", ns); code != exitUsage {
		t.Errorf("analyze -A -n: exit %d (%s), want 2", code, errOut)
	}
}
