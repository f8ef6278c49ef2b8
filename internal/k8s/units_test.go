package k8s

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	saNoNS = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n"
	crNoNS = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n"
	// A custom kind whose CRD is in the input, and one nobody defines.
	crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
`
	widget  = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
	unknown = "apiVersion: other.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n"
)

func loadTree(t *testing.T, files map[string]string, opts LoadOptions, paths ...string) (*Loaded, string) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	var full []string
	for _, p := range paths {
		full = append(full, filepath.Join(dir, p))
	}
	l, err := LoadPaths(context.Background(), full, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, dir
}

func objectNamed(t *testing.T, objs []*Object, kind, name string) *Object {
	t.Helper()
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among %v", kind, name, refSet(objs))
	return nil
}

func TestGiveNamespace(t *testing.T) {
	files := map[string]string{
		"app.yaml": saNoNS + "---\n" + crNoNS + "---\n" + crd + "---\n" + widget + "---\n" + unknown +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: other\n",
	}
	cases := []struct {
		name, option     string
		wantNS, wantFrom string
		wantWarning      bool
	}{
		{name: "no option: kubectl's default", wantNS: "default", wantFrom: NamespaceFromDefault},
		{name: "-n prod", option: "prod", wantNS: "prod", wantFrom: NamespaceFromOption, wantWarning: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, dir := loadTree(t, files, LoadOptions{Namespace: c.option}, "app.yaml")
			for _, kind := range [][2]string{{"ServiceAccount", "app"}, {"Widget", "w"}} {
				o := objectNamed(t, l.Objects, kind[0], kind[1])
				if o.Namespace() != c.wantNS || o.Source.NamespaceFrom != c.wantFrom {
					t.Errorf("%s: namespace %q from %q, want %q from %q", kind[0], o.Namespace(), o.Source.NamespaceFrom, c.wantNS, c.wantFrom)
				}
			}
			for _, kind := range [][2]string{{"ClusterRole", "reader"}, {"CustomResourceDefinition", "widgets.example.com"}, {"Gadget", "g"}} {
				if o := objectNamed(t, l.Objects, kind[0], kind[1]); o.Namespace() != "" || o.Source.NamespaceFrom != "" {
					t.Errorf("%s (cluster-scoped or unknown scope) got namespace %q from %q, want none", kind[0], o.Namespace(), o.Source.NamespaceFrom)
				}
			}
			if o := objectNamed(t, l.Objects, "ConfigMap", "elsewhere"); o.Namespace() != "other" || o.Source.NamespaceFrom != "" {
				t.Errorf("ConfigMap written in namespace other is in %q (from %q)", o.Namespace(), o.Source.NamespaceFrom)
			}
			var warned []string
			for _, w := range l.Warnings {
				warned = append(warned, w.Error())
			}
			want := filepath.Join(dir, "app.yaml") + `:30: v1 ConfigMap other/elsewhere names namespace "other", not "prod"`
			got := slices.ContainsFunc(warned, func(w string) bool { return strings.HasPrefix(w, strings.Replace(want, "v1 ", "", 1)) })
			if got != c.wantWarning {
				t.Errorf("warnings %q: want one starting %q: %v", warned, want, c.wantWarning)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	chart := map[string]string{
		"apps/web/Chart.yaml":            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"apps/web/templates/sa.yaml":     saNoNS,
		"apps/web/templates/cr.yaml":     crNoNS,
		"apps/api/kustomization.yaml":    "namespace: api\nresources: [sa.yaml]\n",
		"apps/api/sa.yaml":               saNoNS,
		"apps/plain/sa.yaml":             strings.Replace(saNoNS, "name: app", "name: plain", 1),
		"apps/top.yaml":                  strings.Replace(saNoNS, "name: app", "name: top", 1),
		"apps/ns-less/kustomization.yml": "resources: [sa.yaml]\n",
		"apps/ns-less/sa.yaml":           strings.Replace(saNoNS, "name: app", "name: kust", 1),
	}
	opts := LoadOptions{Namespace: "team", Helm: HelmOptions{Namespace: "release-ns"}}
	l, dir := loadTree(t, chart, opts, "apps")
	rel := func(u *Unit) string {
		r, _ := filepath.Rel(dir, u.Path)
		return string(u.Kind) + " " + filepath.ToSlash(r) + " " + u.Namespace
	}
	var units []string
	for _, u := range l.Units {
		units = append(units, rel(u))
	}
	// In walk order: api/, ns-less/, plain/ (the argument's plain
	// manifests, first met there), top.yaml, web/.
	want := []string{"kustomization apps/api api", "kustomization apps/ns-less team", "path apps team", "chart apps/web release-ns"}
	if !slices.Equal(units, want) {
		t.Errorf("units = %q, want %q", units, want)
	}
	for _, c := range []struct{ kind, name, ns, unit string }{
		{"ServiceAccount", "app", "api", "kustomization apps/api api"}, // kustomize's namespace wins
		{"ServiceAccount", "kust", "team", "kustomization apps/ns-less team"},
		{"ServiceAccount", "plain", "team", "path apps team"},
		{"ServiceAccount", "top", "team", "path apps team"},
	} {
		var o *Object
		for _, x := range l.Objects {
			if x.Kind() == c.kind && x.Name() == c.name && rel(x.Unit) == c.unit {
				o = x
			}
		}
		if o == nil || o.Namespace() != c.ns {
			t.Errorf("%s %s in unit %q: got %v, want namespace %s", c.kind, c.name, c.unit, o, c.ns)
		}
	}
	var chartSA *Object
	for _, o := range l.Objects {
		if o.Unit.Kind == UnitChart && o.Kind() == "ServiceAccount" {
			chartSA = o
		}
	}
	if chartSA == nil || chartSA.Namespace() != "release-ns" || chartSA.Source.NamespaceFrom != NamespaceFromRelease {
		t.Errorf("chart ServiceAccount: %+v, want namespace release-ns from the release namespace", chartSA)
	}
	// A chart renders into its release namespace without warnings, even
	// when -n names another.
	for _, w := range l.Warnings {
		t.Errorf("unexpected warning %v", w)
	}
	// All inputs as one cluster: no units.
	l, _ = loadTree(t, chart, LoadOptions{OneCluster: true}, "apps")
	if len(l.Units) != 0 || slices.ContainsFunc(l.Objects, func(o *Object) bool { return o.Unit != nil }) {
		t.Errorf("one cluster: units %v, want none", l.Units)
	}
	if o := objectNamed(t, l.Objects, "ServiceAccount", "top"); o.Namespace() != "default" {
		t.Errorf("one cluster: namespaces are still given: got %q", o.Namespace())
	}
}

func TestKustomizationBases(t *testing.T) {
	files := map[string]string{
		"base/kustomization.yaml":             "resources: [sa.yaml]\n",
		"base/sa.yaml":                        saNoNS,
		"components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cr.yaml]\n",
		"components/extra/cr.yaml":            crNoNS,
		"overlays/prod/kustomization.yaml":    "namespace: prod\nresources: [../../base]\ncomponents: [../../components/extra]\n",
		"overlays/staging/kustomization.yaml": "namespace: staging\nresources: [../../base]\n",
		// A kustomization that uses an overlay as its base: the overlay
		// is judged through it as well.
		"overlays/dr/kustomization.yaml": "nameSuffix: -dr\nresources: [../prod]\n",
	}
	l, dir := loadTree(t, files, LoadOptions{}, ".")
	var units []string
	for _, u := range l.Units {
		r, _ := filepath.Rel(dir, u.Path)
		units = append(units, filepath.ToSlash(r))
	}
	if want := []string{"overlays/dr", "overlays/staging"}; !slices.Equal(units, want) {
		t.Errorf("units = %q, want %q (base, component and prod are rendered through overlays)", units, want)
	}
	if len(l.Errors) > 0 {
		t.Errorf("errors: %v", l.Errors)
	}
	got := refSet(l.Objects)
	want := []string{"rbac.authorization.k8s.io/v1 ClusterRole reader-dr", "v1 ServiceAccount prod/app-dr", "v1 ServiceAccount staging/app"}
	if !slices.Equal(got, want) {
		t.Errorf("objects = %q, want %q", got, want)
	}
	through := kustomizationBases([]string{filepath.Join(dir, "base"), filepath.Join(dir, "overlays/prod"), filepath.Join(dir, "overlays/staging"), filepath.Join(dir, "overlays/dr")}, DefaultMaxFileSize)
	if got, want := through[filepath.Join(dir, "base")], []string{filepath.Join(dir, "overlays/dr"), filepath.Join(dir, "overlays/staging")}; !slices.Equal(got, want) {
		t.Errorf("base is rendered through %q, want %q", got, want)
	}
	// Given on its own, a base is a unit.
	l, _ = loadTree(t, files, LoadOptions{}, "base")
	if len(l.Units) != 1 || len(l.Objects) != 1 {
		t.Errorf("base alone: units %v, objects %v", l.Units, refSet(l.Objects))
	}
	// As one cluster every kustomization is built on its own too.
	l, _ = loadTree(t, files, LoadOptions{OneCluster: true}, "base", "overlays")
	got = refSet(l.Objects)
	for _, want := range []string{"v1 ServiceAccount default/app", "v1 ServiceAccount prod/app", "v1 ServiceAccount prod/app-dr", "v1 ServiceAccount staging/app"} {
		if !slices.Contains(got, want) {
			t.Errorf("one cluster: objects %q lack %q", got, want)
		}
	}
}

func TestKustomizationCycle(t *testing.T) {
	// kustomize rejects a cycle: both are still built, so its error is
	// reported rather than both being left out as each other's base.
	files := map[string]string{
		"a/kustomization.yaml": "resources: [../b]\n",
		"b/kustomization.yaml": "resources: [../a]\n",
	}
	l, _ := loadTree(t, files, LoadOptions{}, "a", "b")
	if len(l.Errors) != 2 {
		t.Errorf("errors = %v, want one per kustomization of the cycle", l.Errors)
	}
}

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		glob, name string
		want       bool
	}{
		{"vendor/**", "vendor", true},
		{"vendor/**", "vendor/a/b.yaml", true},
		{"vendor/**", "x/vendor/a.yaml", false},
		{"**/vendor/**", "x/vendor/a.yaml", true},
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "d/a.yaml", false},
		{"**/*_test.yaml", "a_test.yaml", true},
		{"**/*_test.yaml", "d/e/a_test.yaml", true},
		{"**/*_test.yaml", "d/e/a.yaml", false},
		{"d/?.yml", "d/a.yml", true},
		{"d/[ab].yml", "d/c.yml", false},
		{"**", "anything/at/all", true},
	}
	for _, c := range cases {
		if got := MatchGlob(c.glob, c.name); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", c.glob, c.name, got, c.want)
		}
	}
	for _, bad := range []string{"[", "a/[b", "", "**/**/**/**/**/x"} {
		if err := checkGlobs([]string{bad}); err == nil {
			t.Errorf("checkGlobs(%q) = nil, want an error", bad)
		}
	}
}

func TestExclude(t *testing.T) {
	files := map[string]string{
		"app/sa.yaml":              saNoNS,
		"app/sa_test.yaml":         strings.Replace(saNoNS, "name: app", "name: t", 1),
		"vendor/lib/sa.yaml":       strings.Replace(saNoNS, "name: app", "name: v", 1),
		"vendor/lib/more.yaml":     strings.Replace(saNoNS, "name: app", "name: v2", 1),
		"charts/c/Chart.yaml":      "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"charts/c/templates/x.yml": crNoNS,
	}
	l, dir := loadTree(t, files, LoadOptions{Exclude: []string{"vendor/**", "*_test.yaml", "charts/c"}}, ".")
	if got, want := refSet(l.Objects), []string{"v1 ServiceAccount default/app"}; !slices.Equal(got, want) {
		t.Errorf("objects = %q, want %q", got, want)
	}
	if l.Excluded != 3 {
		t.Errorf("excluded = %d, want 3 (vendor, sa_test.yaml, charts/c)", l.Excluded)
	}
	var excluded []string
	for _, w := range l.Warnings {
		if errors.Is(w, ErrExcluded) {
			r, _ := filepath.Rel(dir, w.File)
			excluded = append(excluded, filepath.ToSlash(r))
		}
	}
	if want := []string{"app/sa_test.yaml", "charts/c", "vendor"}; !slices.Equal(excluded, want) {
		t.Errorf("excluded warnings name %q, want %q", excluded, want)
	}
	// A file argument is matched by its base name.
	l, _ = loadTree(t, files, LoadOptions{Exclude: []string{"sa.yaml"}}, "app/sa.yaml", "app/sa_test.yaml")
	if got := refSet(l.Objects); len(got) != 1 || l.Excluded != 1 {
		t.Errorf("file arguments: objects %q, excluded %d; want sa_test.yaml only", got, l.Excluded)
	}
	if _, err := LoadPaths(context.Background(), []string{dir}, LoadOptions{Exclude: []string{"a/["}}); err == nil {
		t.Error("a malformed glob loaded, want an error")
	}
}

// FuzzMatchGlob checks that any glob accepted by checkGlobs matches any
// path without panicking, and that a glob without special characters
// matches exactly itself.
func FuzzMatchGlob(f *testing.F) {
	for _, s := range [][2]string{{"vendor/**", "vendor/a/b.yaml"}, {"**/*_test.yaml", "a/b_test.yaml"}, {"[a-", "a"}, {"a/**/b/**/c", "a/x/b/y/c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		if checkGlobs([]string{glob}) != nil {
			return
		}
		_ = MatchGlob(glob, name)
		if !strings.ContainsAny(glob, `*?[\`) && MatchGlob(glob, name) != (glob == name) {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", glob, name, !(glob == name), glob == name)
		}
	})
}
