package install

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

const chartDir = "../../../deploy/helm/kordon"

// normalize turns objects into the JSON-compatible values internal/k8s
// produces, keyed by kind/namespace/name.
func normalize(t *testing.T, objs []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		b, err := json.Marshal(o)
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
		obj := &k8s.Object{Content: m}
		out[obj.Ref().String()] = m
	}
	return out
}

func renderChart(t *testing.T, namespace string, values map[string]any) []map[string]any {
	t.Helper()
	vf := filepath.Join(t.TempDir(), "values.yaml")
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	objs, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: namespace, ValuesFiles: []string{vf}})
	if err != nil || len(errs) > 0 {
		t.Fatalf("render chart: %v %v", err, errs)
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.Content
	}
	return out
}

// TestChartMatchesInstall renders the Helm chart and kordon admission
// install with the same settings and certificates and compares every object.
func TestChartMatchesInstall(t *testing.T) {
	bundle, err := certs.Generate("kordon-admission.x.svc", []string{"kordon-admission.x.svc"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := certs.Generate("client", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	custom := "governance:\n  trustedImages:\n    action: warn\n    allow: [registry.example.com/*]\n"
	tests := []struct {
		name   string
		opts   Options
		values map[string]any
	}{
		{
			name:   "defaults with given certificates",
			opts:   Options{Certs: bundle},
			values: map[string]any{"tls": map[string]any{"caCert": string(bundle.CA.CertPEM), "cert": string(bundle.Serving.CertPEM), "key": string(bundle.Serving.KeyPEM)}},
		},
		{
			name: "cert-manager, custom namespace, settings and config",
			opts: Options{Namespace: "security", CertManager: true, Replicas: 5, FailurePolicy: "Ignore", TimeoutSeconds: 3, Image: "registry.example.com/kordon:v9", Config: custom},
			values: map[string]any{"certManager": map[string]any{"enabled": true}, "replicas": 5, "failurePolicy": "Ignore", "timeoutSeconds": 3,
				"image": map[string]any{"repository": "registry.example.com/kordon", "tag": "v9"}, "config": custom},
		},
		{
			name: "client authentication",
			opts: Options{Certs: bundle, ClientAuth: &ClientAuth{CACert: clientCA.CA.CertPEM, CommonName: "apiserver-x"}},
			values: map[string]any{"tls": map[string]any{"caCert": string(bundle.CA.CertPEM), "cert": string(bundle.Serving.CertPEM), "key": string(bundle.Serving.KeyPEM)},
				"clientAuth": map[string]any{"enabled": true, "caCert": string(clientCA.CA.CertPEM), "commonName": "apiserver-x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			ns := opts.Namespace
			if ns == "" {
				ns = "kordon-system"
			}
			tt.values["createNamespace"] = true
			installed, err := Render(opts, "v0.1.0")
			if err != nil {
				t.Fatal(err)
			}
			want := normalize(t, installed)
			got := normalize(t, renderChart(t, ns, tt.values))
			if len(want) < 10 {
				t.Errorf("install rendered %d objects, want at least 10", len(want))
			}
			for _, key := range sortedKeys(want, got) {
				w, g := want[key], got[key]
				switch {
				case g == nil:
					t.Errorf("%s: rendered by install, missing from the chart", key)
				case w == nil:
					t.Errorf("%s: rendered by the chart, missing from install", key)
				case !reflect.DeepEqual(w, g):
					wy, _ := yaml.Marshal(w)
					gy, _ := yaml.Marshal(g)
					t.Errorf("%s differs:\ninstall:\n%s\nchart:\n%s", key, wy, gy)
				}
			}
		})
	}
}

func sortedKeys(ms ...map[string]map[string]any) []string {
	set := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestChartGeneratesCertificates(t *testing.T) {
	objs := normalize(t, renderChart(t, "kordon-system", map[string]any{}))
	secret := objs["Secret kordon-system/kordon-admission-tls"]
	if secret == nil {
		t.Fatal("no TLS secret")
	}
	data := k8s.Map(secret, "data")
	for _, key := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if s, _ := data[key].(string); s == "" {
			t.Errorf("secret data %s is empty", key)
		}
	}
	vwc := objs["ValidatingWebhookConfiguration kordon-admission"]
	hooks := k8s.Slice(vwc, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("webhooks: got %d, want 1", len(hooks))
	}
	cc := k8s.Map(hooks[0].(map[string]any), "clientConfig")
	if cc["caBundle"] != data["ca.crt"] {
		t.Errorf("caBundle differs from the secret's ca.crt")
	}
}

func TestRenderPassesItsOwnRules(t *testing.T) {
	objs, err := Render(Options{}, "v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o["kind"] == "Deployment" {
			b, _ := json.Marshal(o)
			dep, errs := k8s.Decode(b, "install")
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			cat, err := rules.Builtin()
			if err != nil {
				t.Fatal(err)
			}
			rs, err := rules.Compile(rules.Select(cat, rules.Filter{Tags: []string{"pss-baseline", "pss-restricted"}}))
			if err != nil {
				t.Fatal(err)
			}
			res, err := rs.Evaluate(context.Background(), dep, rules.EvalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				t.Errorf("the webhook's own Deployment fails %s: %s", f.RuleID, f.Message)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"bad failure policy", Options{FailurePolicy: "Maybe"}, `failure policy "Maybe"`},
		{"bad timeout", Options{TimeoutSeconds: 60}, "timeout 60s"},
		{"bad config", Options{Config: "rules: [{name: a, action: deny}]"}, "admission config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.opts, "v1")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
