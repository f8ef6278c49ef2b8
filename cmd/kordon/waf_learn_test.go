package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWafLearnThenReplay drafts a specification from a HAR file, replays
// the same traffic against the draft (nothing blocked), then replays
// traffic with attacks against it (blocked, exit 1).
func TestWafLearnThenReplay(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.yaml")
	_, stderr, code := run(t, "", "waf", "learn", "--base-path", "/api/v1", "--output-file", spec, "../../internal/waf/traffic/testdata/browser.har")
	if code != 0 {
		t.Fatalf("learn: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "learned 1 routes, 2 operations from 2 of 2 requests") || !strings.Contains(stderr, "entry 2: no method") {
		t.Errorf("learn's summary:\n%s", stderr)
	}
	out, stderr, code := run(t, "", "waf", "replay", "--openapi", spec, "../../internal/waf/traffic/testdata/browser.har")
	if code != 2 || out != "" || !strings.Contains(stderr, "2 requests: 0 would be blocked, 0 logged, 1 unreadable") {
		t.Fatalf("replay of the learned traffic: exit %d, out %q, stderr %s", code, out, stderr)
	}
	attacks := filepath.Join(dir, "attacks.jsonl")
	lines := []string{
		`{"method":"GET","url":"/api/v1/pets?limit=10","headers":{"Authorization":["Bearer x"]}}`,
		`{"method":"GET","url":"/api/v1/pets?limit=10%20OR%201=1","headers":{"Authorization":["Bearer x"]}}`,
		`{"method":"POST","url":"/api/v1/pets","headers":{"Content-Type":["application/json"]},"body":"{\"name\":\"Rex\",\"species\":\"dog\",\"role\":\"admin\"}"}`,
		`{"method":"GET","url":"/api/v1/../../etc/passwd"}`,
	}
	if err := os.WriteFile(attacks, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = run(t, "", "waf", "replay", "--openapi", spec, attacks)
	if code != 1 || !strings.Contains(stderr, "4 requests: 3 would be blocked, 0 logged, 0 unreadable") {
		t.Fatalf("replay of attacks: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"request 2: GET /api/v1/pets?limit=10%20OR%201=1 blocked", "request 3: POST /api/v1/pets blocked", "unknown-route"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = run(t, "", "waf", "replay", "--openapi", spec, "--unknown-route", "log", "-o", "json", attacks)
	if code != 1 {
		t.Fatalf("json replay: exit %d", code)
	}
	var n int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct {
			File    string `json:"file"`
			Request int    `json:"request"`
			Block   bool   `json:"block"`
			Route   string `json:"route"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		n++
		if v.Request == 4 && v.Block {
			t.Errorf("unknown route blocked with --unknown-route log: %s", line)
		}
	}
	if n != 3 {
		t.Errorf("%d JSON verdicts, want 3:\n%s", n, out)
	}
}

func TestWafReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "swagger.yaml")
	if err := os.WriteFile(bad, []byte("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"waf", "replay", "--openapi", bad, "../../internal/waf/traffic/testdata/browser.har"},
		{"waf", "replay", "../../internal/waf/traffic/testdata/browser.har"},
		{"waf", "learn", filepath.Join(dir, "missing.har")},
		{"waf", "learn", dir},
	} {
		if _, stderr, code := run(t, "", args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, stderr)
		}
	}
}
