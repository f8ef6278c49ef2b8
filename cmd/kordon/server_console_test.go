package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestServerConsole starts kordon server with --manifests and a viewer
// token: the console is served at / beside the store API, the viewer logs
// in, and the network map holds the examples' namespaces.
func TestServerConsole(t *testing.T) {
	serverConsole(t, []string{"--manifests", "../../examples/plain"}, "shop-backend")
}

// TestServerConsoleLiveMap starts kordon server with --map-cluster
// against a real API server: the map holds a namespace created there.
func TestServerConsoleLiveMap(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "live")
	objs, errs := k8s.Decode([]byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: `+ns+`}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
`), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := env.Create(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	serverConsole(t, []string{"--map-cluster", "--map-kubeconfig", env.Kubeconfig(t), "--map-refresh", "1m"}, ns)
}

// serverConsole starts kordon server with args and checks the console:
// served at / beside the store API, a viewer logs in, the network map
// has a node wantID, and the viewer may not create an exception.
func serverConsole(t *testing.T, args []string, wantID string) {
	dir := t.TempDir()
	const tok = "0123456789abcdef-token"
	const viewer = "viewer-token-fedcba9876543210"
	tokFile := writeFile(t, dir, "token", tok+"\n")
	viewerFile := writeFile(t, dir, "viewer", viewer+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"server", "--db", filepath.Join(dir, "kordon.db"), "--addr", addr, "--token-file", tokFile,
			"--console-viewer-token-file", viewerFile}, args...))
		done <- cmd.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v\n%s", err, out.String())
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<div id="root">`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("console page: %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	// The store API still wants its bearer token.
	if resp, err := http.Get(base + "/api/v1/stats"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("stats without a token: %v %v", resp, err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err = c.Post(base+"/console/login", "application/json", strings.NewReader(`{"token":"`+viewer+`"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("viewer login: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = c.Get(base + "/console/api/map?flows=off")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"`+wantID+`"`) {
		t.Errorf("map: %d %s", resp.StatusCode, body)
	}
	// A viewer may not create an exception.
	req, _ := http.NewRequest("POST", base+"/console/api/exceptions", strings.NewReader(`{"rule":"KOR-POD-001","reason":"x"}`))
	if resp, err = c.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("viewer creating an exception: %v %v", resp, err)
	}
}
