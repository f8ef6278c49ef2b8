//go:build unix

package k8s

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// remoteWorld is what a remote reference could reach in a test: an HTTP
// server counting its requests and, as the only program on PATH, a git that
// records that it ran.
type remoteWorld struct {
	url      string
	requests *atomic.Int64
	gitRan   string // the file git writes to when it runs
}

func newRemoteWorld(t *testing.T) remoteWorld {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch r.URL.Path {
		case "/ns.yaml":
			_, _ = w.Write([]byte(ns("fetched")))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	bin := t.TempDir()
	gitRan := filepath.Join(t.TempDir(), "git-ran")
	script := "#!/bin/sh\necho \"$@\" >> '" + gitRan + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return remoteWorld{url: srv.URL, requests: &requests, gitRan: gitRan}
}

func (w remoteWorld) gitRuns() bool {
	_, err := os.Stat(w.gitRan)
	return err == nil
}

// TestBuildKustomizationRefusesRemote: without AllowRemote, a remote
// reference anywhere kustomize would follow it fails that kustomization
// with an error naming the reference and the flag, and kustomize neither
// connects anywhere nor runs git. Each case first shows that with
// AllowRemote it does.
func TestBuildKustomizationRefusesRemote(t *testing.T) {
	world := newRemoteWorld(t)
	srv := world.url
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
	tests := []struct {
		name  string
		files map[string]string
		file  string // the kustomization that holds the reference
		ref   string
	}{
		{
			name:  "http resource",
			files: map[string]string{"kustomization.yaml": "resources:\n  - " + srv + "/ns.yaml\n"},
			ref:   srv + "/ns.yaml",
		},
		{
			name:  "github repository",
			files: map[string]string{"kustomization.yaml": "resources:\n  - github.com/kordon-dev/nothing//deploy?ref=v1\n"},
			ref:   "github.com/kordon-dev/nothing//deploy?ref=v1",
		},
		{
			name: "git:: base of a local base",
			files: map[string]string{
				"kustomization.yaml":      "resources: [base]\n",
				"base/kustomization.yaml": "resources:\n  - git::" + srv + "/repo.git//deploy\n",
			},
			file: "base/kustomization.yaml",
			ref:  "git::" + srv + "/repo.git//deploy",
		},
		{
			name:  "scp-like bases entry",
			files: map[string]string{"kustomization.yaml": "bases:\n  - git@github.com:kordon-dev/nothing.git\n"},
			ref:   "git@github.com:kordon-dev/nothing.git",
		},
		{
			name:  "ssh component",
			files: map[string]string{"kustomization.yaml": "components:\n  - ssh://git@example.com/org/repo//comp\n"},
			ref:   "ssh://git@example.com/org/repo//comp",
		},
		{
			name: "patch path",
			files: map[string]string{
				"kustomization.yaml": "resources: [cm.yaml]\npatches:\n  - path: " + srv + "/patch.yaml\n",
				"cm.yaml":            cm,
			},
			ref: srv + "/patch.yaml",
		},
		{
			name:  "generator file",
			files: map[string]string{"kustomization.yaml": "configMapGenerator:\n  - name: cfg\n    files: [conf=" + srv + "/conf.txt]\n"},
			ref:   srv + "/conf.txt",
		},
		{
			name: "builtin transformer configuration",
			files: map[string]string{
				"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [patch.yaml]\n",
				"cm.yaml":            cm,
				"patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + srv + "/patch.yaml\ntarget: {kind: ConfigMap}\n",
			},
			file: "patch.yaml",
			ref:  srv + "/patch.yaml",
		},
		{
			name: "inline transformer configuration",
			files: map[string]string{
				"kustomization.yaml": "resources: [cm.yaml]\ntransformers:\n  - |\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata:\n      name: p\n    path: " + srv + "/patch.yaml\n",
				"cm.yaml":            cm,
			},
			ref: srv + "/patch.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)

			// With AllowRemote, kustomize does go out: the test sees it.
			before := world.requests.Load()
			_, _, _ = BuildKustomization(context.Background(), dir, LoadOptions{AllowRemote: true})
			if world.requests.Load() == before && !world.gitRuns() {
				t.Fatal("with AllowRemote, kustomize neither sent a request nor ran git: the case tests nothing")
			}
			if err := os.RemoveAll(world.gitRan); err != nil {
				t.Fatal(err)
			}

			before = world.requests.Load()
			_, _, err := BuildKustomization(context.Background(), dir, LoadOptions{})
			if n := world.requests.Load() - before; n != 0 || world.gitRuns() {
				t.Errorf("without AllowRemote: %d requests, git ran %v; want neither", n, world.gitRuns())
			}
			var re *RemoteRefError
			if !errors.As(err, &re) || !errors.Is(err, ErrRemoteDisabled) {
				t.Fatalf("err = %v, want a *RemoteRefError", err)
			}
			file := filepath.Join(dir, defaultString(tt.file, "kustomization.yaml"))
			if re.Ref != tt.ref || re.File != file {
				t.Errorf("refused %q in %s, want %q in %s", re.Ref, re.File, tt.ref, file)
			}
			for _, want := range []string{dir + ": ", tt.ref, "--allow-remote"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestLoadPathsRemoteKustomization: a kustomization refused for a remote
// reference is one input error; the rest is loaded.
func TestLoadPathsRemoteKustomization(t *testing.T) {
	world := newRemoteWorld(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"remote/kustomization.yaml": "resources:\n  - " + world.url + "/ns.yaml\n",
		"local/kustomization.yaml":  "resources: [ns.yaml]\n",
		"local/ns.yaml":             ns("local"),
		"plain.yaml":                ns("plain"),
	})
	l, err := LoadPaths(context.Background(), []string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refSet(l.Objects); strings.Join(got, ",") != "v1 Namespace local,v1 Namespace plain" {
		t.Errorf("objects = %q", got)
	}
	if len(l.Errors) != 1 || l.Errors[0].File != filepath.Join(dir, "remote") || !errors.Is(l.Errors[0], ErrRemoteDisabled) {
		t.Errorf("errors = %v, want one for the remote kustomization", l.Errors)
	}
	if world.requests.Load() != 0 || world.gitRuns() {
		t.Errorf("%d requests, git ran %v; want neither", world.requests.Load(), world.gitRuns())
	}
}

// TestChartValuesRemote: a values file given as a URL is fetched only with
// AllowRemote.
func TestChartValuesRemote(t *testing.T) {
	world := newRemoteWorld(t)
	_, _, err := RenderChart(context.Background(), shopChart, HelmOptions{ValuesFiles: []string{world.url + "/values.yaml"}})
	if !errors.Is(err, ErrRemoteDisabled) || world.requests.Load() != 0 {
		t.Errorf("err = %v after %d requests, want ErrRemoteDisabled and none", err, world.requests.Load())
	}
}

func TestIsRemoteRef(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"github.com/org/file.yaml": ns("x")})
	tests := []struct {
		ref  string
		want bool
	}{
		{"https://example.com/deploy.yaml", true},
		{"HTTP://example.com/deploy.yaml", true},
		{"git::https://example.com/org/repo.git//base?ref=v1", true},
		{"ssh://git@example.com/org/repo", true},
		{"file:///srv/repo.git", true},
		{"github.com/org/repo//base", true},
		{"git@gitlab.com:org/repo.git", true},
		{"base", false},
		{"../base", false},
		{"deploy.yaml", false},
		{"logo@2x.yaml", false},
		{"github.com/org/file.yaml", false}, // a local file of that name
		{"", false},
	}
	for _, tt := range tests {
		if got := isRemoteRef(dir, tt.ref); got != tt.want {
			t.Errorf("isRemoteRef(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}
