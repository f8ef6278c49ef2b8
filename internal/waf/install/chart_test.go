package install

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	admissioninstall "github.com/kordon-dev/kordon/internal/admission/install"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

const chartDir = "../../../deploy/helm/kordon"

// chartWAF renders the chart with values and returns its WAF objects (those
// named like the WAF), keyed by kind/namespace/name and normalised.
func chartWAF(t *testing.T, namespace, name string, set ...string) map[string]map[string]any {
	t.Helper()
	objs, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: namespace, Set: set})
	if err != nil || len(errs) > 0 {
		t.Fatalf("render chart: %v %v", err, errs)
	}
	out := map[string]map[string]any{}
	for _, o := range objs {
		if md, _ := o.Content["metadata"].(map[string]any); md["name"] == name {
			out[o.Ref().String()] = o.Content
		}
	}
	return out
}

// installed renders kordon waf install's objects the same way.
func installed(t *testing.T, o Options) map[string]map[string]any {
	t.Helper()
	y, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(string(y), "\n---\n") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		// The empty fields Go's API types marshal (status, strategy).
		delete(m, "status")
		if spec, ok := m["spec"].(map[string]any); ok {
			if st, ok := spec["strategy"].(map[string]any); ok && len(st) == 0 {
				delete(spec, "strategy")
			}
		}
		k8s.Normalize(m)
		obj := &k8s.Object{Content: m}
		out[obj.Ref().String()] = m
	}
	return out
}

// normalized passes chart objects through JSON like installed does.
func normalized(t *testing.T, in map[string]map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for k, m := range in {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var n map[string]any
		if err := dec.Decode(&n); err != nil {
			t.Fatal(err)
		}
		k8s.Normalize(n)
		out[k] = n
	}
	return out
}

// TestChartMatchesInstall renders the chart's waf block and kordon waf
// install with the same settings and compares every object.
func TestChartMatchesInstall(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		set  []string
	}{
		{"ext_authz only", Options{Image: "ghcr.io/kordon-dev/kordon:v1"},
			[]string{"waf.enabled=true", "image.tag=v1"}},
		{"proxy, detect, PL2, own name and ports", Options{Image: "registry.example.com/kordon:v9", Name: "shop-waf", Namespace: "shop", Replicas: 4,
			Paranoia: 2, Mode: "detect", Upstream: "http://web.shop.svc:3000", ExtAuthzPort: 9100, ProxyPort: 8088,
			InspectTimeout: 750 * time.Millisecond, MaxOverdue: 9, FailOpen: true, GCPercent: 200},
			[]string{"waf.enabled=true", "image.repository=registry.example.com/kordon", "image.tag=v9", "waf.name=shop-waf", "waf.replicas=4",
				"waf.paranoia=2", "waf.mode=detect", "waf.upstream=http://web.shop.svc:3000", "waf.extAuthzPort=9100", "waf.proxyPort=8088",
				"waf.inspectTimeout=750ms", "waf.maxOverdue=9", "waf.failOpen=true", "waf.gcPercent=200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.opts.Namespace
			if ns == "" {
				ns = "kordon-system"
			}
			name := tc.opts.Name
			if name == "" {
				name = "kordon-waf"
			}
			want := installed(t, tc.opts)
			got := normalized(t, chartWAF(t, ns, name, tc.set...))
			if len(want) != 2 || len(got) != 2 {
				t.Fatalf("install rendered %d objects, the chart %d; want 2 each", len(want), len(got))
			}
			for k, w := range want {
				if g := got[k]; !reflect.DeepEqual(w, g) {
					wy, _ := yaml.Marshal(w)
					gy, _ := yaml.Marshal(g)
					t.Errorf("%s differs:\ninstall:\n%s\nchart:\n%s", k, wy, gy)
				}
			}
		})
	}
	if got := chartWAF(t, "kordon-system", "kordon-waf"); len(got) != 0 {
		t.Errorf("the chart renders the WAF by default: %v", got)
	}
}

// TestChartGolden guards the chart's WAF objects with a golden file.
func TestChartGolden(t *testing.T) {
	objs := chartWAF(t, "shop", "kordon-waf", "waf.enabled=true", "image.tag=v1", "waf.upstream=http://web.shop.svc:3000", "waf.mode=detect")
	got, err := yaml.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "chart-waf.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update):\n%s", path, got)
	}
}

// TestChartValuesErrors checks that bad waf values fail the render with a
// message naming the value.
func TestChartValuesErrors(t *testing.T) {
	for _, set := range []string{"waf.paranoia=5", "waf.mode=log", "waf.upstream=web:3000", "waf.inspectTimeout=5", "waf.inspectTimeout=-1s",
		"waf.maxOverdue=0", "waf.gcPercent=-5"} {
		_, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "x", Set: []string{"waf.enabled=true", set}})
		field, _, _ := strings.Cut(set, "=")
		if err == nil && len(errs) == 0 {
			t.Errorf("%s rendered", set)
		} else if msg := errString(err, errs); !strings.Contains(msg, field) {
			t.Errorf("%s: error %q does not name %s", set, msg, field)
		}
	}
}

func errString(err error, errs []*k8s.InputError) string {
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error())
	}
	for _, e := range errs {
		b.WriteString(e.Error())
	}
	return b.String()
}

// TestChartOnAPIServer applies the chart's WAF objects (with the proxy) to
// a real API server, twice (the second apply updates in place).
func TestChartOnAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	objs := chartWAF(t, "waf-apply", "kordon-waf", "waf.enabled=true", "image.tag=v1", "waf.upstream=http://web.waf-apply.svc:3000")
	list := []map[string]any{{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "waf-apply"}}}
	for _, o := range objs {
		list = append(list, o)
	}
	for round := 1; round <= 2; round++ {
		if err := admissioninstall.Apply(ctx, env.Config, list, nil); err != nil {
			t.Fatalf("apply round %d: %v", round, err)
		}
	}
	dep, err := env.Client.AppsV1().Deployments("waf-apply").Get(ctx, "kordon-waf", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--upstream http://web.waf-apply.svc:3000") {
		t.Errorf("deployment args: %s", args)
	}
	svc, err := env.Client.CoreV1().Services("waf-apply").Get(ctx, "kordon-waf", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 2 {
		t.Errorf("service ports: %+v", svc.Spec.Ports)
	}
}
