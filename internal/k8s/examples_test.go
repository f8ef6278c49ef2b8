package k8s

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const examplesDir = "../../examples"

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if text != string(want) {
		t.Errorf("%s differs (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, text, want)
	}
}

// loadExample loads paths below examples/ and fails on any error or warning.
func loadExample(t *testing.T, opts LoadOptions, paths ...string) []*Object {
	t.Helper()
	full := make([]string, len(paths))
	for i, p := range paths {
		full[i] = filepath.Join(examplesDir, p)
	}
	l, err := LoadPaths(context.Background(), full, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Errors) > 0 || len(l.Warnings) > 0 {
		t.Fatalf("errors %v, warnings %v", l.Errors, l.Warnings)
	}
	return l.Objects
}

// refSet returns the sorted references of objs.
func refSet(objs []*Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.APIVersion()+" "+o.Ref().String())
	}
	slices.Sort(out)
	return out
}

// find returns the object with this kind, namespace and name, or fails.
func find(t *testing.T, objs []*Object, kind, namespace, name string) *Object {
	t.Helper()
	for _, o := range objs {
		if o.Kind() == kind && o.Namespace() == namespace && o.Name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s among %d objects", kind, namespace, name, len(objs))
	return nil
}

func has(objs []*Object, kind, namespace, name string) bool {
	for _, o := range objs {
		if o.Kind() == kind && o.Namespace() == namespace && o.Name() == name {
			return true
		}
	}
	return false
}

// appObjects is the shop application in plain form, without the node files
// under control-plane/, which only exist in plain form.
func appObjects(t *testing.T) []*Object {
	t.Helper()
	var out []*Object
	for _, o := range loadExample(t, LoadOptions{}, "plain") {
		if !strings.Contains(filepath.ToSlash(o.Source.File), "/control-plane/") {
			out = append(out, o)
		}
	}
	return out
}

func TestExamplePlain(t *testing.T) {
	objs := loadExample(t, LoadOptions{}, "plain")
	golden(t, "examples/plain.golden", sourced(t, examplesDir, objs))

	kubelet := find(t, objs, "KubeletConfiguration", "", "")
	if kubelet.APIVersion() != "kubelet.config.k8s.io/v1beta1" {
		t.Errorf("kubelet config apiVersion = %q", kubelet.APIVersion())
	}
	apiserver := find(t, objs, "Pod", "kube-system", "kube-apiserver")
	_, spec, ok := PodTemplate(apiserver)
	if !ok {
		t.Fatal("kube-apiserver static pod has no pod spec")
	}
	cmd := Slice(Slice(spec, "containers")[0].(map[string]any), "command")
	if !slices.Contains(cmd, any("--anonymous-auth=true")) {
		t.Errorf("kube-apiserver command %v lacks --anonymous-auth=true", cmd)
	}
	// The hardened postgres pod mounts its secret with mode 0400 (256).
	_, pg, _ := PodTemplate(find(t, objs, "StatefulSet", "shop-data", "postgres"))
	vol := Slice(pg, "volumes")[0].(map[string]any)
	if got := Map(vol, "secret")["defaultMode"]; got != int64(0o400) {
		t.Errorf("postgres credentials defaultMode = %#v, want int64(256)", got)
	}
}

func TestExampleFormsAgree(t *testing.T) {
	want := refSet(appObjects(t))
	forms := []struct {
		name string
		path string
	}{
		{"helm chart", "helm/shop"},
		{"kustomize base", "kustomize/base"},
		{"kustomize production", "kustomize/overlays/production"},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			got := refSet(loadExample(t, LoadOptions{}, f.path))
			if !slices.Equal(got, want) {
				t.Errorf("objects differ from examples/plain:\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

func TestExampleKustomizeBaseMatchesPlain(t *testing.T) {
	// The kustomize base is a copy of the plain files; keep them in sync.
	base, err := filepath.Glob(filepath.Join(examplesDir, "kustomize/base/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range base {
		name := filepath.Base(p)
		if name == "kustomization.yaml" {
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(examplesDir, "plain", name))
		if err != nil {
			t.Fatalf("kustomize/base/%s has no counterpart in plain/: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("kustomize/base/%s differs from plain/%s", name, name)
		}
	}
}

func TestExampleKustomizeProduction(t *testing.T) {
	objs := loadExample(t, LoadOptions{}, "kustomize/overlays/production")
	golden(t, "examples/kustomize-production.golden", sourced(t, examplesDir, objs))
	// Every object is located in the base file it comes from; the base
	// files are copies of the plain ones, so the lines are the same.
	plainAt := map[string]Source{}
	for _, o := range appObjects(t) {
		plainAt[o.Ref().String()] = o.Source
	}
	for _, o := range objs {
		p := plainAt[o.Ref().String()]
		want := Source{File: filepath.Join(examplesDir, "kustomize", "base", filepath.Base(p.File)), Line: p.Line}
		if o.Source != want {
			t.Errorf("%s: source %s, want %s", o.Ref(), o.Source, want)
		}
		if _, ok := o.Annotations()[originAnnotation]; ok {
			t.Errorf("%s kept the origin annotation Kordon asked kustomize for", o.Ref())
		}
		if got := o.Labels()["environment"]; got != "production" {
			t.Errorf("%s: label environment = %q, want production", o.Ref(), got)
		}
	}
	replicas := map[string]int64{"frontend": 4, "cart": 6, "payment": 3}
	for name, want := range replicas {
		ns := "shop-backend"
		if name == "frontend" {
			ns = "shop-frontend"
		}
		d := find(t, objs, "Deployment", ns, name)
		if got := Map(d.Content, "spec")["replicas"]; got != want {
			t.Errorf("%s replicas = %#v, want %d", name, got, want)
		}
	}
	_, fe, _ := PodTemplate(find(t, objs, "Deployment", "shop-frontend", "frontend"))
	web := Slice(fe, "containers")[0].(map[string]any)
	if got := web["image"]; got != "nginx:1.29.3-alpine" {
		t.Errorf("frontend image = %v, want nginx:1.29.3-alpine", got)
	}
	if Map(Map(web, "resources"), "limits") == nil || Map(web, "livenessProbe") == nil {
		t.Errorf("frontend container lacks the overlay's limits or probes: %v", web)
	}
	svc := Map(find(t, objs, "Service", "shop-frontend", "frontend").Content, "spec")
	if svc["type"] != "ClusterIP" {
		t.Errorf("frontend Service type = %v, want ClusterIP", svc["type"])
	}
	if port := Slice(svc, "ports")[0].(map[string]any); port["nodePort"] != nil {
		t.Errorf("frontend Service still has nodePort %v", port["nodePort"])
	}
	if tls := Slice(Map(find(t, objs, "Ingress", "shop-frontend", "shop").Content, "spec"), "tls"); len(tls) != 1 {
		t.Errorf("Ingress tls = %v, want one entry", tls)
	}
	// Untouched problems stay.
	_, agent, _ := PodTemplate(find(t, objs, "DaemonSet", "default", "node-agent"))
	if agent["hostNetwork"] != true {
		t.Errorf("node-agent hostNetwork = %v, want true", agent["hostNetwork"])
	}
}

func TestBuildKustomizationErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	writeTree(t, dir, map[string]string{
		"broken/kustomization.yaml": "resources:\n  - missing.yaml\n",
		"plain/ns.yaml":             ns("kept"),
	})
	_, _, err := BuildKustomization(context.Background(), broken, LoadOptions{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != broken || !strings.Contains(err.Error(), "kustomize build") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("err = %v, want an input error naming the folder, kustomize build and missing.yaml", err)
	}
	// Through LoadPaths the broken kustomization is an input error and the
	// rest is still loaded.
	l, err := LoadPaths(context.Background(), []string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Errors) != 1 || l.Errors[0].File != broken || !strings.Contains(l.Errors[0].Error(), "missing.yaml") {
		t.Errorf("errors = %v, want one naming %s", l.Errors, broken)
	}
	if !has(l.Objects, "Namespace", "", "kept") {
		t.Errorf("objects %v lack the Namespace beside the broken kustomization", refSet(l.Objects))
	}
}

func TestExamplesFolder(t *testing.T) {
	// The whole examples folder loads cleanly: the chart and the kustomize
	// folders are rendered, their values and patch files are not read as
	// manifests, and README.md is ignored. The kustomize base is rendered
	// through its production overlay only, unless all inputs are one
	// cluster.
	objs := loadExample(t, LoadOptions{}, ".")
	plain := len(loadExample(t, LoadOptions{}, "plain"))
	app := len(appObjects(t))
	if want := plain + 2*app; len(objs) != want {
		t.Errorf("got %d objects, want %d (plain, chart and kustomize production)", len(objs), want)
	}
	objs = loadExample(t, LoadOptions{OneCluster: true}, ".")
	if want := plain + 3*app; len(objs) != want {
		t.Errorf("one cluster: got %d objects, want %d (plain, chart, kustomize base and production)", len(objs), want)
	}
}
