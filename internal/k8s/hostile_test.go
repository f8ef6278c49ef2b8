//go:build unix

package k8s

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guard runs fn, which must return. It fails the test when fn is still
// running after 30 s (a hang guard, not a performance claim) and ends the
// test binary when the heap passes 1 GiB, since a goroutine reading without
// end cannot be stopped and would take the machine's memory.
func guard(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for {
		select {
		case <-done:
			return
		case <-deadline.C:
			t.Fatalf("%s is still running after 30s", what)
		case <-tick.C:
			metrics.Read(heap)
			if heap[0].Value.Uint64() > 1<<30 {
				panic(what + " holds over 1 GiB of heap: reading without end?")
			}
		}
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("named pipes not supported: %v", err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// problems formats input errors as "file: message" with file relative to dir.
func problems(t *testing.T, dir string, errs []*InputError) []string {
	t.Helper()
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		file := e.File
		if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = filepath.ToSlash(rel)
		}
		out = append(out, file+": "+e.Err.Error())
	}
	return out
}

// TestLoadPathsHostileFiles: what a repository can hold to make a scan hang
// or run out of memory is skipped or refused, file by file; the rest loads.
func TestLoadPathsHostileFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"a-good.yaml": ns("good"),
		"big.yaml":    ns("big") + "# " + strings.Repeat("x", 200) + "\n",
		"sub/z.yaml":  ns("deeper"),
	})
	mkfifo(t, filepath.Join(dir, "pipe.yaml"))
	symlink(t, "/dev/zero", filepath.Join(dir, "zero.yaml"))
	symlink(t, "/dev/null", filepath.Join(dir, "null.yml"))
	symlink(t, "loop.yaml", filepath.Join(dir, "loop.yaml"))
	symlink(t, "nowhere.yaml", filepath.Join(dir, "dangling.json"))
	symlink(t, filepath.Join(dir, "pipe.yaml"), filepath.Join(dir, "to-pipe.yaml"))
	symlink(t, ".", filepath.Join(dir, "sub", "self")) // a loop through a folder link

	var l *Loaded
	var err error
	guard(t, "LoadPaths", func() {
		l, err = LoadPaths(context.Background(), []string{dir}, LoadOptions{MaxFileSize: 100})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a-good.yaml:1 Namespace good", "sub/z.yaml:1 Namespace deeper"}
	if got := sourced(t, dir, l.Objects); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}
	wantWarnings := []string{
		"dangling.json: not a regular file (symbolic link: no such file or directory); skipped",
		"loop.yaml: not a regular file (symbolic link: too many levels of symbolic links); skipped",
		"null.yml: not a regular file (character device); skipped",
		"pipe.yaml: not a regular file (named pipe); skipped",
		"to-pipe.yaml: not a regular file (named pipe); skipped",
		"zero.yaml: not a regular file (character device); skipped",
	}
	if got := problems(t, dir, l.Warnings); strings.Join(got, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings:\ngot  %q\nwant %q", got, wantWarnings)
	}
	for _, w := range l.Warnings {
		if !errors.Is(w, ErrNotRegular) {
			t.Errorf("warning %v does not wrap ErrNotRegular", w)
		}
	}
	wantErrors := []string{"big.yaml: larger than the size limit of 100 bytes (--max-file-size); not read"}
	if got := problems(t, dir, l.Errors); strings.Join(got, "\n") != strings.Join(wantErrors, "\n") {
		t.Errorf("errors:\ngot  %q\nwant %q", got, wantErrors)
	}
	if len(l.Errors) > 0 && !errors.Is(l.Errors[0], ErrTooLarge) {
		t.Errorf("error %v does not wrap ErrTooLarge", l.Errors[0])
	}
}

// TestLoadPathsHostilePaths: the same holds for paths given directly, and
// for standard input.
func TestLoadPathsHostilePaths(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeTree(t, dir, map[string]string{"good.yaml": ns("good")})
	pipe := filepath.Join(dir, "pipe")
	mkfifo(t, pipe)
	tests := []struct {
		name    string
		path    string
		stdin   string
		warning string
		err     string
	}{
		{name: "named pipe", path: pipe, warning: "pipe: not a regular file (named pipe); skipped"},
		{name: "device", path: "/dev/zero", warning: "/dev/zero: not a regular file (character device); skipped"},
		{name: "standard input over the limit", path: "-", stdin: strings.Repeat("#", 101), err: "-: larger than the size limit of 100 bytes (--max-file-size); not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *Loaded
			var err error
			guard(t, "LoadPaths", func() {
				l, err = LoadPaths(context.Background(), []string{tt.path, good}, LoadOptions{MaxFileSize: 100, Stdin: strings.NewReader(tt.stdin)})
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Objects) != 1 {
				t.Errorf("got %d objects, want the one of good.yaml", len(l.Objects))
			}
			if got := problems(t, dir, l.Warnings); strings.Join(got, "\n") != tt.warning {
				t.Errorf("warnings = %q, want %q", got, tt.warning)
			}
			if got := problems(t, dir, l.Errors); strings.Join(got, "\n") != tt.err {
				t.Errorf("errors = %q, want %q", got, tt.err)
			}
		})
	}
}

// TestLoadPathsStdinCanceled: a standard input that never ends does not
// keep LoadPaths from returning when ctx is done.
func TestLoadPathsStdinCanceled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	guard(t, "LoadPaths", func() {
		_, err = LoadPaths(ctx, []string{"-"}, LoadOptions{Stdin: r})
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestChartHostileFiles: a chart folder whose symbolic links loop, or that
// holds a file that is not regular, is an error for that chart (Helm's own
// loader would walk the loops without end); the rest of the input loads.
func TestChartHostileFiles(t *testing.T) {
	dir := t.TempDir()
	chart := func(name string) map[string]string {
		return map[string]string{
			name + "/Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n",
			name + "/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n",
		}
	}
	for _, name := range []string{"loops", "pipe", "linked"} {
		writeTree(t, dir, chart(name))
	}
	writeTree(t, dir, map[string]string{"plain.yaml": ns("plain"), "lib/helpers.tpl": "{{/* shared */}}\n"})
	// Two links back to the chart's root: Helm walks 2^n paths.
	symlink(t, "..", filepath.Join(dir, "loops", "templates", "a"))
	symlink(t, "..", filepath.Join(dir, "loops", "templates", "b"))
	mkfifo(t, filepath.Join(dir, "pipe", "templates", "pipe.yaml"))
	// A link to a folder outside the chart is followed, as Helm does.
	symlink(t, filepath.Join(dir, "lib"), filepath.Join(dir, "linked", "templates", "lib"))

	var l *Loaded
	var err error
	guard(t, "LoadPaths", func() {
		l, err = LoadPaths(context.Background(), []string{dir}, LoadOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refSet(l.Objects), []string{"v1 ConfigMap default/linked", "v1 Namespace plain"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("objects = %q, want %q", got, want)
	}
	wantErrors := []string{
		"loops: load chart: templates/a: symbolic link loop: leads back to " + mustEval(t, filepath.Join(dir, "loops")),
		"pipe: load chart: templates/pipe.yaml: not a regular file (named pipe)",
	}
	if got := problems(t, dir, l.Errors); strings.Join(got, "\n") != strings.Join(wantErrors, "\n") {
		t.Errorf("errors:\ngot  %q\nwant %q", got, wantErrors)
	}
}

func mustEval(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKustomizationHostileFiles: kustomize reads files through the same
// checks, so a resource that is a named pipe or too large fails that
// kustomization, not the load.
func TestKustomizationHostileFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"piped/kustomization.yaml": "resources: [ok.yaml, pipe.yaml]\n",
		"piped/ok.yaml":            ns("piped"),
		"big/kustomization.yaml":   "resources: [big.yaml]\n",
		"big/big.yaml":             ns("big") + "# " + strings.Repeat("x", 4000) + "\n",
		"plain.yaml":               ns("plain"),
	})
	mkfifo(t, filepath.Join(dir, "piped", "pipe.yaml"))
	var l *Loaded
	var err error
	guard(t, "LoadPaths", func() {
		l, err = LoadPaths(context.Background(), []string{dir}, LoadOptions{MaxFileSize: 1000})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := refSet(l.Objects); strings.Join(got, ",") != "v1 Namespace plain" {
		t.Errorf("objects = %q, want the plain Namespace only", got)
	}
	if len(l.Errors) != 2 {
		t.Fatalf("errors = %q, want one per kustomization", problems(t, dir, l.Errors))
	}
	for i, want := range []string{"larger than the size limit of 1000 bytes", "not a regular file (named pipe)"} {
		if e := l.Errors[i]; !strings.Contains(e.Error(), want) {
			t.Errorf("error %v lacks %q", e, want)
		}
	}
}

// loopingChart writes a chart beside a plain manifest: one template renders
// a ConfigMap, another loops without output — 100 million empty iterations,
// seconds of work, far beyond the budgets below, and still ending on its
// own once a test has given up on it.
func loopingChart(t *testing.T, dir string) string {
	t.Helper()
	writeTree(t, dir, map[string]string{
		"loop/Chart.yaml":          "apiVersion: v2\nname: loop\nversion: 0.1.0\n",
		"loop/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loop\n",
		"loop/templates/spin.yaml": "{{- range 100000000 }}{{ end }}\n",
		"plain.yaml":               ns("plain"),
	})
	return filepath.Join(dir, "loop")
}

// TestRenderChartTimeBudget: a template that never ends is given up on
// when the chart's time budget runs out; the rest of the input loads.
func TestRenderChartTimeBudget(t *testing.T) {
	dir := t.TempDir()
	chart := loopingChart(t, dir)
	var l *Loaded
	var err error
	guard(t, "LoadPaths", func() {
		l, err = LoadPaths(context.Background(), []string{dir}, LoadOptions{Helm: HelmOptions{Timeout: 200 * time.Millisecond}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := refSet(l.Objects); strings.Join(got, ",") != "v1 Namespace plain" {
		t.Errorf("objects = %q, want the plain Namespace", got)
	}
	if len(l.Errors) != 1 || l.Errors[0].File != chart || !errors.Is(l.Errors[0], ErrRenderTimeout) {
		t.Fatalf("errors = %v, want one for %s wrapping ErrRenderTimeout", l.Errors, chart)
	}
	if want := "render chart: stopped after 200ms: the time budget per chart ran out (--helm-timeout)"; l.Errors[0].Err.Error() != want {
		t.Errorf("error = %q, want %q", l.Errors[0].Err, want)
	}
}

// TestRenderChartCanceled: when ctx is done (SIGINT, SIGTERM), loading
// returns even though a template is still running.
func TestRenderChartCanceled(t *testing.T) {
	dir := t.TempDir()
	chart := loopingChart(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	var err error
	guard(t, "LoadPaths", func() {
		_, err = LoadPaths(ctx, []string{chart, filepath.Join(dir, "plain.yaml")}, LoadOptions{Helm: HelmOptions{Timeout: time.Hour}})
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
