package install

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const chartDir = "../../../deploy/helm/kordon"

func full(ns string) Options {
	return Options{Namespace: ns, Image: "ghcr.io/kordon-dev/kordon:v9.9.9", Server: true, Operator: true,
		Token: "0123456789abcdef0123", Drift: true, BaselineGit: "https://git.example.com/platform/cluster.git",
		BaselineBranch: "main", BaselinePath: "prod", ServiceMonitor: true, WatchPods: true}
}

func TestRenderGolden(t *testing.T) {
	got, err := Render(full("kordon-system"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "install.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("render differs from %s; run go test ./internal/operator/install -update and review the diff", golden)
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Namespace = "" }, "namespace"},
		{func(o *Options) { o.Server, o.Operator = false, false }, "nothing to render"},
		{func(o *Options) { o.BaselineGit = "" }, "baseline"},
		{func(o *Options) { o.StorageSize = "lots" }, "storage size"},
		{func(o *Options) { o.Token = "short" }, "16 characters"},
	} {
		o := full("x")
		tc.mod(&o)
		if _, err := Render(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one about %s", err, tc.want)
		}
	}
}

// normalize makes objects comparable: JSON values, keyed by kind and name,
// without the empty fields a typed object marshals.
func normalize(t *testing.T, objs []any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		md := m["metadata"].(map[string]any)
		key := m["kind"].(string) + "/" + md["name"].(string)
		out[key] = prune(m)
	}
	return out
}

func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			x = prune(x)
			if x == nil || k == "creationTimestamp" || isEmpty(x) {
				delete(t, k)
				continue
			}
			t[k] = x
		}
		return t
	case []any:
		for i := range t {
			t[i] = prune(t[i])
		}
	}
	return v
}

func isEmpty(v any) bool { m, ok := v.(map[string]any); return ok && len(m) == 0 }

// TestChartMatchesInstall renders the Helm chart with the server, the
// operator and ServiceMonitors on, and checks that it renders the objects
// kordon server install renders.
func TestChartMatchesInstall(t *testing.T) {
	o := full("kordon")
	values := map[string]any{
		"image":          map[string]any{"tag": "v9.9.9"},
		"server":         map[string]any{"enabled": true, "token": o.Token},
		"operator":       map[string]any{"enabled": true, "drift": map[string]any{"gitURL": o.BaselineGit, "branch": o.BaselineBranch, "path": o.BaselinePath}},
		"serviceMonitor": map[string]any{"enabled": true},
	}
	vf := filepath.Join(t.TempDir(), "values.yaml")
	b, _ := yaml.Marshal(values)
	if err := os.WriteFile(vf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	objs, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "kordon", ValuesFiles: []string{vf}})
	if err != nil || len(errs) > 0 {
		t.Fatalf("render chart: %v %v", err, errs)
	}
	var chart []any
	for _, obj := range objs {
		if c := obj.Labels()["app.kubernetes.io/component"]; c == "server" || c == "operator" {
			chart = append(chart, obj.Content)
		}
	}
	mine, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	got, want := normalize(t, chart), normalize(t, mine)
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("%s: rendered by install, missing from the chart", k)
		case !wok:
			t.Errorf("%s: rendered by the chart, missing from install", k)
		default:
			gy, _ := yaml.Marshal(g)
			wy, _ := yaml.Marshal(w)
			if !bytes.Equal(gy, wy) {
				t.Errorf("%s differs:\ninstall:\n%s\nchart:\n%s", k, wy, gy)
			}
		}
	}
	// Off by default: the chart renders none of them.
	objs, _, err = k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "kordon"})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if c := obj.Labels()["app.kubernetes.io/component"]; c == "server" || c == "operator" {
			t.Errorf("%s rendered with default values", obj.Ref())
		}
	}
}

// TestApplyOnAPIServer creates every rendered object, ServiceMonitors
// included, on a real API server.
func TestApplyOnAPIServer(t *testing.T) {
	env := testenv.Start(t)
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{"testdata/servicemonitor-crd.yaml"}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	ns := env.CreateNamespace(t, "kordon")
	out, err := Render(full(ns))
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := k8s.Decode(out, "install.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	created, err := env.Create(t.Context(), objs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != len(objs) || len(objs) != 16 {
		t.Errorf("created %d of %d objects, want 16", len(created), len(objs))
	}
	// The server's account may watch pods in every namespace (the IP → pod
	// history), and nothing else.
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	user := "system:serviceaccount:" + ns + ":" + ServerName
	for _, c := range []struct {
		verb, resource, namespace string
		want                      bool
	}{
		{"list", "pods", "", true},
		{"watch", "pods", "other", true},
		{"list", "secrets", "", false},
		{"delete", "pods", ns, false},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: c.verb, Resource: c.resource, Namespace: c.namespace}}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != c.want {
			t.Errorf("%s may %s %s in %q: %v, want %v", user, c.verb, c.resource, c.namespace, got.Status.Allowed, c.want)
		}
	}
}
