package sensorchart

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	admissioninstall "github.com/kordon-dev/kordon/internal/admission/install"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/sensor/install"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const chartDir = "../../deploy/helm/kordon"

// sensorObjects returns the chart's sensor objects (labelled
// app.kubernetes.io/name: kordon-sensor), keyed by kind/namespace/name and
// normalised through JSON.
func sensorObjects(t *testing.T, set ...string) map[string]map[string]any {
	t.Helper()
	objs, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "kordon-system", Set: set})
	if err != nil || len(errs) > 0 {
		t.Fatalf("render chart: %v %v", err, errs)
	}
	out := map[string]map[string]any{}
	for _, o := range objs {
		md, _ := o.Content["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		if labels["app.kubernetes.io/name"] != "kordon-sensor" {
			continue
		}
		out[o.Ref().String()] = viaJSON(t, o.Content)
	}
	return out
}

func viaJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	k8s.Normalize(m)
	return m
}

// installed returns kordon sensor install's objects the same way, without
// the empty fields Go's API types marshal (status, spec, updateStrategy).
func installed(t *testing.T, o install.Options) map[string]map[string]any {
	t.Helper()
	y, err := install.Render(o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(string(y), "\n---\n") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(j, &raw); err != nil {
			t.Fatal(err)
		}
		m := viaJSON(t, raw)
		delete(m, "status")
		if spec, ok := m["spec"].(map[string]any); ok {
			if us, ok := spec["updateStrategy"].(map[string]any); ok && len(us) == 0 {
				delete(spec, "updateStrategy")
			}
			if len(spec) == 0 {
				delete(m, "spec")
			}
		}
		out[(&k8s.Object{Content: m}).Ref().String()] = m
	}
	return out
}

// TestChartMatchesInstall renders the chart's sensor block and kordon
// sensor install with the same settings and compares every object: the
// same RBAC, capabilities, host access and arguments.
func TestChartMatchesInstall(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts install.Options
		set  []string
	}{
		{"defaults", install.Options{Namespace: "kordon-sensor", Image: "ghcr.io/kordon-dev/kordon:v1"},
			[]string{"sensor.enabled=true", "image.tag=v1"}},
		{"kill-pod, policy, dry run, own namespace and learning window",
			install.Options{Namespace: "runtime", Image: "registry.example.com/kordon:v9", AllowKillPod: true, Learn: "1h", DryRun: true,
				Policy: "default: alert\nrules:\n  - match: {rule: KOR-RT-001}\n    action: kill-process\n"},
			[]string{"sensor.enabled=true", "image.repository=registry.example.com/kordon", "image.tag=v9", "sensor.namespace=runtime",
				"sensor.allowKillPod=true", "sensor.learn=1h", "sensor.dryRun=true",
				"sensor.policy=default: alert\nrules:\n  - match: {rule: KOR-RT-001}\n    action: kill-process\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := installed(t, tc.opts)
			got := sensorObjects(t, tc.set...)
			if len(want) != 6 || len(got) != 6 {
				t.Fatalf("install rendered %d objects, the chart %d; want 6 each: %v", len(want), len(got), keys(got))
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
	if got := sensorObjects(t); len(got) != 0 {
		t.Errorf("the chart renders the sensor by default: %v", keys(got))
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestChartGolden guards the chart's sensor objects with a golden file.
func TestChartGolden(t *testing.T) {
	got, err := yaml.Marshal(sensorObjects(t, "sensor.enabled=true", "image.tag=v1", "sensor.allowKillPod=true"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "chart-sensor.yaml")
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

// TestChartValuesErrors checks that bad sensor values fail the render
// with a message naming the value.
func TestChartValuesErrors(t *testing.T) {
	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"sensor.namespace=Bad_NS"}, "sensor.namespace"},
		{[]string{"sensor.learn=ten minutes"}, "sensor.learn"},
		{[]string{"createNamespace=true", "sensor.namespace=kordon-system"}, "Pod Security restricted"},
	} {
		_, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "kordon-system",
			Set: append([]string{"sensor.enabled=true"}, c.set...)})
		var msg strings.Builder
		if err != nil {
			msg.WriteString(err.Error())
		}
		for _, e := range errs {
			msg.WriteString(e.Error())
		}
		if msg.Len() == 0 || !strings.Contains(msg.String(), c.want) {
			t.Errorf("%v: error %q, want one naming %q", c.set, msg.String(), c.want)
		}
	}
}

// TestChartOnAPIServer applies the chart's sensor objects to a real API
// server, twice (the second apply updates in place).
func TestChartOnAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	ns := testenv.UniqueName("sensor")
	objs := sensorObjects(t, "sensor.enabled=true", "image.tag=v1", "sensor.namespace="+ns, "sensor.allowKillPod=true", "sensor.dryRun=true")
	// The namespace first, then the rest.
	list := []map[string]any{objs["Namespace "+ns]}
	if list[0] == nil {
		t.Fatalf("no namespace among %v", keys(objs))
	}
	for k, o := range objs {
		if k != "Namespace "+ns {
			list = append(list, o)
		}
	}
	for round := 1; round <= 2; round++ {
		if err := admissioninstall.Apply(ctx, env.Config, list, nil); err != nil {
			t.Fatalf("apply round %d: %v", round, err)
		}
	}
	ds, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "kordon-sensor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Spec.Template.Spec.Containers[0]
	if !ds.Spec.Template.Spec.HostPID || !strings.Contains(strings.Join(c.Args, " "), "--dry-run") || len(c.SecurityContext.Capabilities.Add) != 6 {
		t.Errorf("daemonset as stored: hostPID %v args %v caps %v", ds.Spec.Template.Spec.HostPID, c.Args, c.SecurityContext.Capabilities.Add)
	}
	cr, err := env.Client.RbacV1().ClusterRoles().Get(ctx, "kordon-sensor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cr.Rules[0].Verbs, ","); got != "get,list,delete" {
		t.Errorf("cluster role verbs %s", got)
	}
}
