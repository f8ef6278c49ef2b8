package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("apiVersion: kordon.dev/v1alpha1\nkind: Config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFind lays out folders with and without configuration files and a
// git work tree, and checks which file each starting folder finds.
func TestFind(t *testing.T) {
	top := t.TempDir()
	// top/.kordon.yaml is outside the work tree top/repo and must never
	// be found from inside it.
	touch(t, filepath.Join(top, ".kordon.yaml"))
	repo := mkdir(t, filepath.Join(top, "repo"))
	mkdir(t, filepath.Join(repo, ".git"))
	deep := mkdir(t, filepath.Join(repo, "a", "b", "c"))
	touch(t, filepath.Join(repo, "a", ".kordon.yml"))
	touch(t, filepath.Join(repo, "a", "b", "c", "not-a-config.yaml"))
	bare := mkdir(t, filepath.Join(repo, "bare"))
	both := mkdir(t, filepath.Join(repo, "both"))
	touch(t, filepath.Join(both, ".kordon.yaml"))
	touch(t, filepath.Join(both, ".kordon.yml"))
	// A submodule or worktree has a .git file, not a folder: its root
	// stops the search too.
	sub := mkdir(t, filepath.Join(repo, "sub"))
	touch(t, filepath.Join(sub, ".git"))
	subDeep := mkdir(t, filepath.Join(sub, "x"))
	outside := mkdir(t, filepath.Join(top, "elsewhere", "deeper"))

	cases := []struct {
		name, dir, want, err string
	}{
		{"nearest ancestor", deep, filepath.Join(repo, "a", ".kordon.yml"), ""},
		{"in the folder itself", filepath.Join(repo, "a"), filepath.Join(repo, "a", ".kordon.yml"), ""},
		{"none up to the git root", bare, "", ""},
		{"the git root's parent is not searched", repo, "", ""},
		{"both names in one folder", both, "", "keep one"},
		{"a .git file is a root", subDeep, "", ""},
		{"without git up to the filesystem root", outside, filepath.Join(top, ".kordon.yaml"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Find(c.dir)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Find(%s) = %q, %v; want error containing %q", c.dir, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("Find(%s) = %q, %v; want %q", c.dir, got, err, c.want)
			}
		})
	}
}

// TestFindRelative finds from a relative folder, as from the current
// directory.
func TestFindRelative(t *testing.T) {
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, ".git"))
	touch(t, filepath.Join(dir, ".kordon.yaml"))
	mkdir(t, filepath.Join(dir, "x"))
	t.Chdir(filepath.Join(dir, "x"))
	got, err := Find(".")
	if err != nil || got != filepath.Join(dir, ".kordon.yaml") {
		t.Errorf("Find(.) = %q, %v; want %s", got, err, filepath.Join(dir, ".kordon.yaml"))
	}
}
