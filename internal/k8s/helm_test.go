package k8s

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

const shopChart = examplesDir + "/helm/shop"

func renderShop(t *testing.T, path string, opts HelmOptions) []*Object {
	t.Helper()
	objs, errs, err := RenderChart(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("input errors: %v", errs)
	}
	return objs
}

func TestRenderChartFolder(t *testing.T) {
	objs := renderShop(t, shopChart, HelmOptions{})
	golden(t, "examples/helm.golden", sourced(t, examplesDir, objs))
	for _, o := range objs {
		if o.Source.Line != 0 || !strings.HasPrefix(filepath.ToSlash(o.Source.File), shopChart+"/templates/") {
			t.Errorf("%s: source %s, want a template of the chart without a line", o.Ref(), o.Source)
		}
		if _, err := os.Stat(o.Source.File); err != nil {
			t.Errorf("%s: source %s is not a file of the chart: %v", o.Ref(), o.Source, err)
		}
	}
	cm := find(t, objs, "ConfigMap", "shop-backend", "cart-config")
	if got := cm.Labels()["app.kubernetes.io/instance"]; got != "release" {
		t.Errorf("release label = %q, want the default release name", got)
	}
}

func TestRenderChartArchive(t *testing.T) {
	chrt, err := loader.Load(shopChart)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := chartutil.Save(chrt, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(archive) != "shop-0.1.0.tgz" {
		t.Fatalf("archive = %s", archive)
	}
	fromArchive := renderShop(t, archive, HelmOptions{})
	fromFolder := renderShop(t, shopChart, HelmOptions{})
	if got, want := refSet(fromArchive), refSet(fromFolder); !slices.Equal(got, want) {
		t.Errorf("archive renders other objects than the folder:\ngot  %q\nwant %q", got, want)
	}
	d := find(t, fromArchive, "Deployment", "shop-backend", "cart")
	if want := filepath.Join(archive, "templates", "cart.yaml"); d.Source.File != want {
		t.Errorf("source = %s, want %s", d.Source.File, want)
	}
	// LoadPaths finds the archive in a folder walk too.
	l, err := LoadPaths(context.Background(), []string{filepath.Dir(archive)}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refSet(l.Objects), refSet(fromFolder); !slices.Equal(got, want) {
		t.Errorf("folder walk over the archive:\ngot  %q\nwant %q", got, want)
	}
}

func TestRenderChartValues(t *testing.T) {
	valuesFile := filepath.Join(t.TempDir(), "prod.yaml")
	if err := os.WriteFile(valuesFile, []byte(`
ingress:
  tls:
    enabled: true
frontend:
  service:
    type: ClusterIP
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  HelmOptions
		check func(t *testing.T, objs []*Object)
	}{
		{
			name: "set disables the node agent",
			opts: HelmOptions{Set: []string{"nodeAgent.enabled=false"}},
			check: func(t *testing.T, objs []*Object) {
				for _, k := range []string{"DaemonSet", "ServiceAccount"} {
					if has(objs, k, "default", "node-agent") {
						t.Errorf("%s default/node-agent rendered with nodeAgent.enabled=false", k)
					}
				}
				if has(objs, "ClusterRoleBinding", "", "node-agent-cluster-admin") {
					t.Error("cluster-admin binding rendered with nodeAgent.enabled=false")
				}
				if !has(objs, "Deployment", "shop-backend", "cart") {
					t.Error("cart missing")
				}
			},
		},
		{
			name: "set keeps numbers as integers",
			opts: HelmOptions{Set: []string{"frontend.replicas=5"}},
			check: func(t *testing.T, objs []*Object) {
				spec := Map(find(t, objs, "Deployment", "shop-frontend", "frontend").Content, "spec")
				if got := spec["replicas"]; got != int64(5) {
					t.Errorf("replicas = %#v, want int64(5)", got)
				}
			},
		},
		{
			name: "set-string",
			opts: HelmOptions{SetString: []string{"payment.dbPassword=12345"}},
			check: func(t *testing.T, objs []*Object) {
				_, spec, _ := PodTemplate(find(t, objs, "Deployment", "shop-backend", "payment"))
				env := Slice(Slice(spec, "containers")[0].(map[string]any), "env")
				last := env[len(env)-1].(map[string]any)
				if last["name"] != "DB_PASSWORD" || last["value"] != "12345" {
					t.Errorf("env = %v, want DB_PASSWORD=\"12345\" as a string", last)
				}
			},
		},
		{
			name: "values file",
			opts: HelmOptions{ValuesFiles: []string{valuesFile}},
			check: func(t *testing.T, objs []*Object) {
				ing := Map(find(t, objs, "Ingress", "shop-frontend", "shop").Content, "spec")
				if len(Slice(ing, "tls")) != 1 {
					t.Errorf("ingress tls = %v, want one entry", ing["tls"])
				}
				svc := Map(find(t, objs, "Service", "shop-frontend", "frontend").Content, "spec")
				port := Slice(svc, "ports")[0].(map[string]any)
				if svc["type"] != "ClusterIP" || port["nodePort"] != nil {
					t.Errorf("service = %v, want ClusterIP without nodePort", svc)
				}
			},
		},
		{
			name: "set overrides the values file",
			opts: HelmOptions{ValuesFiles: []string{valuesFile}, Set: []string{"ingress.tls.enabled=false"}},
			check: func(t *testing.T, objs []*Object) {
				ing := Map(find(t, objs, "Ingress", "shop-frontend", "shop").Content, "spec")
				if ing["tls"] != nil {
					t.Errorf("ingress tls = %v, want none", ing["tls"])
				}
			},
		},
		{
			name: "release name",
			opts: HelmOptions{ReleaseName: "shop-prod", Namespace: "apps"},
			check: func(t *testing.T, objs []*Object) {
				cm := find(t, objs, "ConfigMap", "shop-backend", "cart-config")
				if got := cm.Labels()["app.kubernetes.io/instance"]; got != "shop-prod" {
					t.Errorf("instance label = %q, want shop-prod", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, renderShop(t, shopChart, tt.opts))
		})
	}
}

func TestRenderChartHardenedValues(t *testing.T) {
	objs := renderShop(t, shopChart, HelmOptions{ValuesFiles: []string{shopChart + "/values-hardened.yaml"}})
	for _, o := range objs {
		switch o.Kind() {
		case "DaemonSet", "CronJob":
			t.Errorf("%s rendered; its toggle is off", o.Ref())
		case "ClusterRole", "ClusterRoleBinding":
			t.Errorf("%s rendered; the over-broad RBAC toggles are off", o.Ref())
		case "Service":
			if typ := Map(o.Content, "spec")["type"]; typ != nil && typ != "ClusterIP" {
				t.Errorf("%s has type %v", o.Ref(), typ)
			}
		case "Ingress":
			if len(Slice(Map(o.Content, "spec"), "tls")) == 0 {
				t.Errorf("%s has no tls", o.Ref())
			}
		}
		_, spec, ok := PodTemplate(o)
		if !ok {
			continue
		}
		for _, c := range Slice(spec, "containers") {
			c := c.(map[string]any)
			sc := Map(c, "securityContext")
			if sc["privileged"] == true || sc["allowPrivilegeEscalation"] == true || len(Slice(Map(sc, "capabilities"), "add")) > 0 {
				t.Errorf("%s container %v: securityContext %v", o.Ref(), c["name"], sc)
			}
			if sc["runAsUser"] == int64(0) {
				t.Errorf("%s container %v runs as root", o.Ref(), c["name"])
			}
			if strings.HasSuffix(String(c, "image"), ":latest") && o.Name() != "redis" {
				t.Errorf("%s container %v uses %v", o.Ref(), c["name"], c["image"])
			}
			for _, p := range Slice(c, "ports") {
				if hp := p.(map[string]any)["hostPort"]; hp != nil {
					t.Errorf("%s container %v has hostPort %v", o.Ref(), c["name"], hp)
				}
			}
			for _, e := range Slice(c, "env") {
				if e.(map[string]any)["name"] == "DB_PASSWORD" {
					t.Errorf("%s still sets DB_PASSWORD", o.Ref())
				}
			}
		}
	}
	_, fe, _ := PodTemplate(find(t, objs, "Deployment", "shop-frontend", "frontend"))
	if fe["automountServiceAccountToken"] != false || Map(Map(fe, "securityContext"), "seccompProfile") == nil {
		t.Errorf("frontend pod spec is not hardened: %v", fe)
	}
}

func TestRenderChartErrors(t *testing.T) {
	broken := t.TempDir()
	writeTree(t, broken, map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
		"values.yaml":         "name: x\n",
		"templates/ok.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
		"templates/bad.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | nosuchfunction }}\n",
		"templates/_help.tpl": "",
	})
	missingDep := t.TempDir()
	writeTree(t, missingDep, map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n",
		"templates/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
	})
	badYAML := t.TempDir()
	writeTree(t, badYAML, map[string]string{
		"Chart.yaml":         "apiVersion: v2\nname: badyaml\nversion: 0.1.0\n",
		"templates/ok.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
		"templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [bad\n",
	})
	tests := []struct {
		name string
		path string
		opts HelmOptions
		want []string // parts of the error message
	}{
		{
			name: "required value",
			path: shopChart,
			opts: HelmOptions{Set: []string{"ingress.host="}},
			want: []string{shopChart + ": render chart", "templates/frontend.yaml", "ingress.host is required when ingress.enabled is true"},
		},
		{
			name: "template parse error",
			path: broken,
			want: []string{broken + ": render chart", "templates/bad.yaml:4", "nosuchfunction"},
		},
		{
			name: "missing values file",
			path: shopChart,
			opts: HelmOptions{ValuesFiles: []string{filepath.Join(broken, "nope.yaml")}},
			want: []string{shopChart + ": values", "nope.yaml"},
		},
		{
			name: "bad --set",
			path: shopChart,
			opts: HelmOptions{Set: []string{"a[=b"}},
			want: []string{shopChart + ": values"},
		},
		{
			name: "bad kube version",
			path: shopChart,
			opts: HelmOptions{KubeVersion: "not-a-version"},
			want: []string{"kube version"},
		},
		{
			name: "template renders invalid YAML",
			path: badYAML,
			want: []string{badYAML + ": render chart", "templates/bad.yaml", "line 4"},
		},
		{
			name: "dependency not downloaded",
			path: missingDep,
			want: []string{missingDep + ": chart dependencies", "redis", "charts/"},
		},
		{
			name: "not a chart",
			path: filepath.Join(broken, "templates"),
			want: []string{"load chart"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := RenderChart(context.Background(), tt.path, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

}

// TestRenderChartSizeBudget: a chart that renders more than its size
// budget is an error naming the chart, wrapping ErrRenderTooLarge.
func TestRenderChartSizeBudget(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: big\nversion: 0.1.0\n",
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: big
data:
{{- range $i := until 2000 }}
  key{{ $i }}: {{ repeat 100 "x" }}
{{- end }}
`,
	})
	if _, _, err := RenderChart(context.Background(), dir, HelmOptions{}); err != nil {
		t.Fatalf("within the default budget: %v", err)
	}
	_, _, err := RenderChart(context.Background(), dir, HelmOptions{MaxOutput: 64 << 10})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != dir || !errors.Is(err, ErrRenderTooLarge) {
		t.Fatalf("err = %v, want an input error for the chart wrapping ErrRenderTooLarge", err)
	}
	if want := "budget 64Ki"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to name the budget (%s)", err, want)
	}
}

func TestRenderChartSubchart(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Chart.yaml":                      "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: cache\n    version: 1.0.0\n",
		"values.yaml":                     "cache:\n  port: 6380\n",
		"templates/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
		"charts/cache/Chart.yaml":         "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
		"charts/cache/values.yaml":        "port: 6379\n",
		"charts/cache/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: cache\nspec:\n  ports: [{port: {{ .Values.port }}}]\n",
	})
	objs := renderShop(t, dir, HelmOptions{})
	svc := find(t, objs, "Service", "", "cache")
	if want := filepath.Join(dir, "charts", "cache", "templates", "svc.yaml"); svc.Source.File != want {
		t.Errorf("subchart source = %s, want %s", svc.Source.File, want)
	}
	port := Slice(Map(svc.Content, "spec"), "ports")[0].(map[string]any)["port"]
	if port != int64(6380) {
		t.Errorf("port = %#v, want the parent's value int64(6380)", port)
	}
	find(t, objs, "ConfigMap", "", "app")
}

func TestRenderChartHooksAndCRDs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"crds/widgets.yaml":   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
		"templates/job.yaml":  "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: migrate}]\n",
		"templates/NOTES.txt": "not a manifest {{ .Release.Name }}\n",
	})
	objs := renderShop(t, dir, HelmOptions{})
	job := find(t, objs, "Job", "", "migrate")
	if want := filepath.Join(dir, "templates", "job.yaml"); job.Source.File != want {
		t.Errorf("hook source = %s, want %s", job.Source.File, want)
	}
	crd := find(t, objs, "CustomResourceDefinition", "", "widgets.example.com")
	if want := filepath.Join(dir, "crds", "widgets.yaml"); crd.Source.File != want {
		t.Errorf("CRD source = %s, want %s", crd.Source.File, want)
	}
	if len(objs) != 2 {
		t.Errorf("got %v, want the hook Job and the CRD", refSet(objs))
	}
}
