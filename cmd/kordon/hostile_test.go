//go:build unix

package main

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary as kordon: with KORDON_TEST_MAIN=1
// it runs main with the arguments it was given.
func TestMain(m *testing.M) {
	if os.Getenv("KORDON_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// guarded is run under a hang guard: it fails the test when the command
// is still running after 30 s (not a performance claim) and ends the test
// binary when the heap passes 1 GiB, since a goroutine reading without end
// cannot be stopped.
func guarded(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdout, stderr, code = run(t, stdin, args...)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for {
		select {
		case <-done:
			return stdout, stderr, code
		case <-deadline.C:
			t.Fatalf("kordon %s is still running after 30s", strings.Join(args, " "))
		case <-tick.C:
			metrics.Read(heap)
			if heap[0].Value.Uint64() > 1<<30 {
				panic("kordon " + strings.Join(args, " ") + " holds over 1 GiB of heap: reading without end?")
			}
		}
	}
}

// TestScanSkipsFilesThatAreNotRegular: a named pipe, /dev/zero behind a
// link and a link loop are skipped with a warning naming them; the scan
// ends and reports the rest.
func TestScanSkipsFilesThatAreNotRegular(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", privilegedDeployment)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Skipf("named pipes not supported: %v", err)
	}
	for link, target := range map[string]string{"zero.yaml": "/dev/zero", "loop.yaml": "loop.yaml"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := guarded(t, "", "scan", dir, "-o", "json", "--rule", "KOR-POD-001")
	if code != exitFindings {
		t.Errorf("exit %d, want 1 (a finding; skipped files are warnings); stderr %s", code, stderr)
	}
	r := decodeReport(t, out)
	if !r.has("KOR-POD-001", "Deployment", "web") {
		t.Errorf("the finding of app.yaml is missing: %+v", r.Findings)
	}
	var warnings []string
	for _, w := range r.Warnings {
		warnings = append(warnings, w.Message)
	}
	for _, want := range []string{"not a regular file (symbolic link: too many levels of symbolic links)", "not a regular file (named pipe)", "not a regular file (character device)"} {
		if !strings.Contains(strings.Join(warnings, "\n"), want) {
			t.Errorf("warnings %q lack %q", warnings, want)
		}
	}

	// Named on the command line, a named pipe is skipped too: it is the
	// only input here, so nothing is left to scan.
	_, stderr, code = guarded(t, "", "netpol", "analyze", filepath.Join(dir, "pipe.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "pipe.yaml: not a regular file (named pipe); skipped") || !strings.Contains(stderr, "no Kubernetes objects found") {
		t.Errorf("netpol analyze of a named pipe: exit %d, stderr %q", code, stderr)
	}
}

// TestRemoteNeedsAllowRemote: without --allow-remote, a kustomization that
// references a remote resource or repository is an input error naming the
// reference and the flag, no request is sent and git does not run; with
// it, both happen.
func TestRemoteNeedsAllowRemote(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte(privilegedDeployment))
	}))
	defer srv.Close()
	bin := t.TempDir()
	gitRan := filepath.Join(t.TempDir(), "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\necho \"$@\" >> '"+gitRan+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)

	dir := t.TempDir()
	writeFile(t, dir, "http/kustomization.yaml", "resources:\n  - "+srv.URL+"/deploy.yaml\n")
	writeFile(t, dir, "git/kustomization.yaml", "resources:\n  - github.com/kordon-dev/nothing//deploy?ref=v1\n")
	writeFile(t, dir, "app.yaml", strings.Replace(privilegedDeployment, "name: web", "name: local", 1))

	for _, args := range [][]string{
		{"scan", dir, "-o", "json", "--rule", "KOR-POD-001"},
		{"netpol", "lint", dir, "-o", "json"},
	} {
		out, stderr, code := guarded(t, "", args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2; stderr %s", args[:2], code, stderr)
		}
		text := out + stderr
		for _, want := range []string{srv.URL + "/deploy.yaml", "github.com/kordon-dev/nothing//deploy?ref=v1", "--allow-remote"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: output does not name %q:\n%s", args[:2], want, text)
			}
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("without --allow-remote the server got %d requests", n)
	}
	if _, err := os.Stat(gitRan); err == nil {
		t.Error("without --allow-remote git ran")
	}

	out, _, _ := guarded(t, "", "scan", dir, "-o", "json", "--rule", "KOR-POD-001", "--allow-remote")
	if r := decodeReport(t, out); !r.has("KOR-POD-001", "Deployment", "web") || requests.Load() == 0 {
		t.Errorf("with --allow-remote: %d requests, findings %+v; want the fetched Deployment", requests.Load(), r.Findings)
	}
	if _, err := os.Stat(gitRan); err != nil {
		t.Error("with --allow-remote git did not run")
	}
}

// TestSignalStopsAChartRender: SIGTERM stops kordon while a Helm template
// loops, although Helm's engine takes no context.
func TestSignalStopsAChartRender(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Chart.yaml", "apiVersion: v2\nname: loop\nversion: 0.1.0\n")
	writeFile(t, dir, "templates/spin.yaml", "{{- range 1000000000000 }}{{ end }}\n")
	cmd := exec.Command(os.Args[0], "scan", dir, "--helm-timeout", "1h", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "KORDON_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	// Wait until the render is under way, then send SIGTERM.
	var output strings.Builder
	rendering := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		seen := false
		for lines.Scan() {
			output.WriteString(lines.Text() + "\n")
			if !seen && strings.Contains(lines.Text(), "render chart") {
				seen = true
				close(rendering)
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case <-rendering:
	case err := <-exited:
		t.Fatalf("kordon ended (%v) before rendering the chart:\n%s", err, output.String())
	case <-time.After(30 * time.Second):
		t.Fatal("kordon has not started rendering after 30s (hang guard)")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
			t.Errorf("kordon ended with %v, want exit status 2 after SIGTERM", err)
		}
		if !strings.Contains(output.String(), "kordon: interrupted") {
			t.Errorf("stderr does not say the scan was canceled:\n%s", output.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("kordon still runs 30s after SIGTERM (hang guard):\n%s", output.String())
	}
}
