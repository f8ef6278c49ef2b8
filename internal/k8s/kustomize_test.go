package k8s

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildKustomizationSources(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"base/kustomization.yaml": "resources: [apps.yaml]\n",
		"base/apps.yaml": `# two deployments
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {team: shop}
spec: {template: {spec: {containers: [{name: c, image: nginx}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec: {template: {spec: {containers: [{name: c, image: api}]}}}
`,
		"overlay/kustomization.yaml": `namePrefix: prod-
namespace: shop
resources: [../base, extra.yaml]
configMapGenerator:
  - name: settings
    literals: [mode=production]
`,
		"overlay/extra.yaml":         "\n\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: extra\n",
		"tracked/kustomization.yaml": "buildMetadata: [originAnnotations]\nresources: [../base]\n",
	})
	overlay := filepath.Join(dir, "overlay")
	tests := []struct {
		name string
		dir  string
		want map[string]Source // Ref → source
		// generated counts the ConfigMaps a generator makes (their names
		// carry a hash).
		generated int
		// keepsOrigin: the kustomization asked for origin annotations.
		keepsOrigin bool
	}{
		{
			name: "overlay with prefix, namespace and generator",
			dir:  overlay,
			want: map[string]Source{
				"Deployment shop/prod-web":       {File: filepath.Join(overlay, "../base/apps.yaml"), Line: 2},
				"Deployment shop/prod-api":       {File: filepath.Join(overlay, "../base/apps.yaml"), Line: 9},
				"ServiceAccount shop/prod-extra": {File: filepath.Join(overlay, "extra.yaml"), Line: 3},
			},
			generated: 1,
		},
		{
			name:        "kustomization asks for origin annotations",
			dir:         filepath.Join(dir, "tracked"),
			keepsOrigin: true,
			want: map[string]Source{
				"Deployment web": {File: filepath.Join(dir, "tracked", "../base/apps.yaml"), Line: 2},
				"Deployment api": {File: filepath.Join(dir, "tracked", "../base/apps.yaml"), Line: 9},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs, err := BuildKustomization(context.Background(), tt.dir, LoadOptions{})
			if err != nil || len(errs) > 0 {
				t.Fatalf("err %v, input errors %v", err, errs)
			}
			if len(objs) != len(tt.want)+tt.generated {
				t.Fatalf("got %d objects, want %d", len(objs), len(tt.want))
			}
			for _, o := range objs {
				_, kept := o.Annotations()[originAnnotation]
				if kept != tt.keepsOrigin {
					t.Errorf("%s: origin annotation kept = %v, want %v", o.Ref(), kept, tt.keepsOrigin)
				}
				if o.Kind() == "ConfigMap" {
					want := Source{File: filepath.Join(overlay, "kustomization.yaml")}
					if o.Source != want {
						t.Errorf("generated %s: source %s, want %s", o.Ref(), o.Source, want)
					}
					continue
				}
				want, ok := tt.want[o.Ref().String()]
				if !ok {
					t.Errorf("unexpected object %s", o.Ref())
					continue
				}
				if o.Source != want {
					t.Errorf("%s: source %s, want %s", o.Ref(), o.Source, want)
				}
			}
			if !tt.keepsOrigin {
				web := find(t, objs, "Deployment", "shop", "prod-web")
				if got := web.Annotations(); len(got) != 1 || got["team"] != "shop" {
					t.Errorf("web annotations = %v, want only team", got)
				}
				api := find(t, objs, "Deployment", "shop", "prod-api")
				if _, ok := Map(api.Content, "metadata")["annotations"]; ok {
					t.Errorf("api gained an annotations map: %v", Map(api.Content, "metadata"))
				}
			}
		})
	}
}

func TestBuildKustomizationThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"real/kustomization.yaml": "resources: [ns.yaml]\n",
		"real/ns.yaml":            "# ns\n" + ns("linked"),
	})
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "real"), link); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	objs, _, err := BuildKustomization(context.Background(), link, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Source{File: filepath.Join(link, "ns.yaml"), Line: 2}
	if len(objs) != 1 || objs[0].Source != want {
		t.Errorf("objects %v, want one from %s", sourced(t, dir, objs), want)
	}
	if _, ok := Map(objs[0].Content, "metadata")["annotations"]; ok {
		t.Errorf("origin annotation left behind: %v", objs[0].Content)
	}
}
