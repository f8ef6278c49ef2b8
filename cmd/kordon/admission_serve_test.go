package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// lockedBuffer is a log sink safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAdmissionServeCommand runs kordon admission serve against a real API
// server (for its caches) and checks readiness, a decision and shutdown.
func TestAdmissionServeCommand(t *testing.T) {
	env := testenv.Start(t)
	dir := t.TempDir()
	b, err := certs.Generate("kordon-cli", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, dir, "tls.crt", string(b.Serving.CertPEM))
	keyFile := writeFile(t, dir, "tls.key", string(b.Serving.KeyPEM))
	cfg := writeFile(t, dir, "admission.yaml", "rules: [{name: pss, select: {tags: [pss-baseline]}, action: enforce}]\n"+
		"governance: {requireNetworkPolicy: {action: warn}}\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := opsLn.Addr().String()
	opsLn.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	logs := &lockedBuffer{}
	cmd.SetOut(logs)
	cmd.SetErr(logs)
	cmd.SetArgs([]string{"admission", "serve", "--config", cfg, "--cert-file", certFile, "--key-file", keyFile,
		"--addr", addr, "--ops-addr", opsAddr, "--kubeconfig", env.Kubeconfig(t), "--namespace", "kordon-system", "--drain-delay", "0s"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CA.CertPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	testenv.Eventually(t, "ready", func() error {
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %d", resp.StatusCode)
		}
		return nil
	})

	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},` +
		`"operation":"CREATE","namespace":"shop","name":"p","userInfo":{"username":"alice"},` +
		`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"nginx:1","securityContext":{"privileged":true}}]}}}}`
	resp, err := client.Post("https://"+addr+"/validate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out.Response == nil || out.Response.Allowed || !strings.Contains(out.Response.Result.Message, "KOR-POD-001") {
		t.Errorf("privileged pod: got %+v, want denied by KOR-POD-001", out.Response)
	}
	if len(out.Response.Warnings) == 0 || !strings.Contains(out.Response.Warnings[0], "KOR-GOV-001") {
		t.Errorf("warnings: got %q, want the missing NetworkPolicy", out.Response.Warnings)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
	if !strings.Contains(logs.String(), "CLIENT AUTHENTICATION IS OFF") {
		t.Errorf("no warning that client authentication is off:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"admission decision"`) || !strings.Contains(logs.String(), `"user":"alice"`) {
		t.Errorf("no JSON decision log line:\n%s", logs.String())
	}
}
