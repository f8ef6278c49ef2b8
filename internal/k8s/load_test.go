package k8s

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files (path relative to dir → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ns(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
}

// sourced formats objects as "file:line Kind name" with file relative to dir.
func sourced(t *testing.T, dir string, objs []*Object) []string {
	t.Helper()
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		src := o.Source
		if rel, err := filepath.Rel(dir, src.File); err == nil && !strings.HasPrefix(rel, "..") {
			src.File = filepath.ToSlash(rel)
		}
		out = append(out, src.String()+" "+o.Ref().String())
	}
	return out
}

func TestLoadPathsFolder(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"b.yaml":                 ns("b1") + "---\n" + ns("b2"),
		"a.yml":                  "# first\n" + ns("a"),
		"sub/c.json":             `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}`,
		"sub/deeper/d.YAML":      ns("d"),
		"sub/values.yaml":        "replicaCount: 1\n",
		"sub/broken.yaml":        ns("before-broken") + "---\nkind: [\n",
		".hidden/e.yaml":         ns("hidden-dir"),
		".github/workflows/ci.y": ns("not-a-manifest-extension"),
		".f.yaml":                ns("hidden-file"),
		"README.md":              "# not yaml\n",
		"notes.txt":              ns("txt"),
	})
	l, err := LoadPaths(context.Background(), []string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a.yml:2 Namespace a",
		"b.yaml:1 Namespace b1",
		"b.yaml:6 Namespace b2",
		"sub/broken.yaml:1 Namespace before-broken",
		"sub/c.json:1 Namespace c",
		"sub/deeper/d.YAML:1 Namespace d",
	}
	if got := sourced(t, dir, l.Objects); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}
	if len(l.Errors) != 1 || !strings.HasSuffix(l.Errors[0].File, "broken.yaml") || l.Errors[0].Line != 6 {
		t.Errorf("errors = %v, want one at sub/broken.yaml:6", l.Errors)
	}
	if len(l.Warnings) != 1 || !strings.HasSuffix(l.Warnings[0].File, "values.yaml") || !errors.Is(l.Warnings[0], ErrNotObject) {
		t.Errorf("warnings = %v, want one ErrNotObject for sub/values.yaml", l.Warnings)
	}
}

func TestLoadPathsSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"target.yaml": ns("linked"), "sub/x.yaml": ns("via-dir-link")})
	writeTree(t, dir, map[string]string{"own.yaml": ns("own")})
	if err := os.Symlink(filepath.Join(outside, "target.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	if err := os.Symlink(filepath.Join(outside, "sub"), filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "missing.yaml"), filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	l, err := LoadPaths(context.Background(), []string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A link to a file is read; links to folders are not followed (no
	// loops) and dangling links are skipped.
	want := []string{"link.yaml:1 Namespace linked", "own.yaml:1 Namespace own"}
	if got := sourced(t, dir, l.Objects); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}
}

func TestLoadPathsInputs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"one.yaml": ns("one"), "two.json": `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"two"}}`})
	tests := []struct {
		name    string
		paths   []string
		stdin   string
		want    []string
		wantErr string
	}{
		{
			name:  "files in the order given",
			paths: []string{filepath.Join(dir, "two.json"), filepath.Join(dir, "one.yaml")},
			want:  []string{"two.json:1 Namespace two", "one.yaml:1 Namespace one"},
		},
		{
			name:  "standard input",
			paths: []string{"-"},
			stdin: "\n" + ns("from-stdin"),
			want:  []string{"-:2 Namespace from-stdin"},
		},
		{
			name:  "standard input between files",
			paths: []string{filepath.Join(dir, "one.yaml"), "-"},
			stdin: ns("s"),
			want:  []string{"one.yaml:1 Namespace one", "-:1 Namespace s"},
		},
		{
			name:    "nonexistent path",
			paths:   []string{filepath.Join(dir, "one.yaml"), filepath.Join(dir, "nope.yaml")},
			wantErr: "nope.yaml",
		},
		{
			name:  "no paths",
			paths: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LoadPaths(context.Background(), tt.paths, LoadOptions{Stdin: strings.NewReader(tt.stdin)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want an error naming %q", err, tt.wantErr)
				}
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want it to wrap fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sourced(t, dir, l.Objects); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("objects:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLoadPathsStdinMissing(t *testing.T) {
	_, err := LoadPaths(context.Background(), []string{"-"}, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Errorf("err = %v, want an error about standard input", err)
	}
}

func TestLoadPathsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LoadPaths(ctx, []string{"../../examples/plain"}, LoadOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
