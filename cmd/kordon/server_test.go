package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store/httpapi"
)

// TestServerAndQuery runs kordon server, sends it the findings of a real
// scan and some events, queries them through the server and then from the
// database file once the server has shut down.
func TestServerAndQuery(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kordon.db")
	const tok = "0123456789abcdef-token"
	tokFile := writeFile(t, dir, "token", tok+"\n")
	feed := writeFile(t, dir, "blocklist.txt", "# known scanners\n203.0.113.0/28\n")
	// Alerts: two denials in a namespace within a minute, to a webhook.
	hook := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hook <- string(b)
	}))
	defer receiver.Close()
	alerts := writeFile(t, dir, "alerts.yaml", `rules:
- name: repeated-denials
  filter: engine == "admission" && action == "denied"
  threshold: 2
  window: 5m
  key: [resource.namespace]
- name: threat-intel
  filter: ruleID == "KOR-INTEL-001"
notifiers:
- webhook: {url: "`+receiver.URL+`"}
`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	metricsAddr := freeAddr(t)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var serverErr lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&serverErr)
		cmd.SetErr(&serverErr)
		cmd.SetArgs([]string{"server", "--db", db, "--addr", addr, "--token-file", tokFile, "--retention-age", "0",
			"--pod-history", "../../internal/flowlog/testdata/pods.json", "--intel-feed", "name=blocklist,file=" + feed + ",severity=critical", "--alerts", alerts, "--metrics-addr", metricsAddr})
		done <- cmd.ExecuteContext(ctx)
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
			t.Fatalf("server did not start: %v\n%s", err, serverErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	report, _, code := run(t, "", "scan", "../../examples/plain", "-o", "json", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("scan exit %d", code)
	}
	var rep struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil || len(rep.Findings) == 0 {
		t.Fatalf("scan report: %v, %d findings", err, len(rep.Findings))
	}
	cl := &httpapi.Client{BaseURL: base, Token: tok}
	res, err := cl.Send(t.Context(), "/api/v1/findings", []byte(report))
	if err != nil || res.Accepted != len(rep.Findings) || len(res.Rejected) != 0 {
		t.Fatalf("sending the scan report: %+v, %v", res, err)
	}
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err != nil {
		t.Errorf("metrics: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := `kordon_server_http_requests_total{code="200",route="/api/v1/findings"} 1`; !strings.Contains(string(body), want) {
			t.Errorf("server metrics lack %s", want)
		}
	}
	now := time.Now().UTC()
	var events bytes.Buffer
	for i, a := range []string{"denied", "denied", "warned"} {
		ev := map[string]any{"time": now.Add(-time.Duration(i) * time.Minute), "engine": "admission", "action": a, "ruleID": "KOR-POD-001",
			"severity": "critical", "controls": []string{}, "title": "Privileged container",
			"resource": map[string]string{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}, "message": "privileged"}
		b, _ := json.Marshal(ev)
		events.Write(append(b, '\n'))
	}
	if res, err := cl.Send(t.Context(), "/api/v1/events", events.Bytes()); err != nil || res.Accepted != 3 {
		t.Fatalf("sending events: %+v, %v", res, err)
	}

	// A VPC flow log: the flows of one address attributed to the pod that
	// held it at each flow's time.
	vpc, err := os.ReadFile("../../internal/flowlog/testdata/vpc-v5.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Send(t.Context(), "/api/v1/flows", vpc); err != nil {
		t.Fatal(err)
	}

	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case b := <-hook:
			var a struct {
				Rule  string            `json:"rule"`
				Key   map[string]string `json:"key"`
				Count int               `json:"count"`
			}
			if err := json.Unmarshal([]byte(b), &a); err != nil {
				t.Fatal(err)
			}
			got[a.Rule] = true
			if a.Rule == "repeated-denials" && (a.Key["resource.namespace"] != "shop" || a.Count != 2) {
				t.Errorf("alert %s", b)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("alerts received: %v", got)
		}
	}

	t.Setenv(tokenEnv, tok)
	out, errOut, code := run(t, "", "query", "--server", base, "--group-by", "resource.name", `engine == "flow" && attributes.src == "10.0.1.5"`)
	if code != 0 || !strings.Contains(out, "web-old ") || !strings.Contains(out, "ledger-0 ") {
		t.Errorf("flows by pod: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "query", "--server", base, "--since", "1h", "--group-by", "action", `engine == "admission"`)
	if code != 0 || !strings.Contains(out, "denied  2") || !strings.Contains(out, "warned  1") {
		t.Errorf("query --server: exit %d\n%s%s", code, out, errOut)
	}
	// The rejected flow from 203.0.113.9 matched the feed.
	out, errOut, code = run(t, "", "query", "--server", base, "-o", "json", `engine == "intel"`)
	if code != 0 || !strings.Contains(out, `"ruleID": "KOR-INTEL-001"`) || !strings.Contains(out, `"severity": "critical"`) ||
		!strings.Contains(out, `"name": "ledger-0"`) || !strings.Contains(out, `"count": 1`) {
		t.Errorf("intel match: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "query", "--server", base, "--count", `engine == "flow" && "intel.feed" in attributes`)
	if code != 0 || strings.TrimSpace(out) != "1" {
		t.Errorf("enriched flows: exit %d, %q%s", code, out, errOut)
	}
	out, errOut, code = run(t, "", "query", "--server", base, "--count", `type == "finding"`)
	if code != 0 || strings.TrimSpace(out) != fmtInt(len(rep.Findings)) {
		t.Errorf("count of findings: exit %d, %q%s; want %d", code, out, errOut, len(rep.Findings))
	}
	t.Setenv(tokenEnv, "wrong-token-wrong-token")
	if _, errOut, code := run(t, "", "query", "--server", base, "--count"); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("query with a wrong token: exit %d, %s", code, errOut)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server: %v\n%s", err, serverErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop on cancellation")
	}

	out, errOut, code = run(t, "", "query", "--db", db, "-o", "json", "--limit", "2", `severity == "critical" && type == "event" && engine == "admission"`)
	if code != 0 {
		t.Fatalf("query --db: exit %d: %s", code, errOut)
	}
	var qr struct {
		Count     int  `json:"count"`
		Truncated bool `json:"truncated"`
		Records   []struct {
			Type, Engine string
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &qr); err != nil || qr.Count != 2 || !qr.Truncated || qr.Records[0].Engine != "admission" {
		t.Errorf("query --db -o json: %v %+v\n%s", err, qr, out)
	}
	out, _, code = run(t, "", "query", "--db", db, "--explain", "--count", `resource.namespace == "shop" && message.contains("priv")`)
	if code != 0 || !strings.Contains(out, `pushed down: resource.namespace == "shop"`) || !strings.Contains(out, "CEL on each record: true") {
		t.Errorf("--explain:\n%s", out)
	}
}

func fmtInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestServerAndQueryUsageErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(tokenEnv, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--db", filepath.Join(dir, "a.db")}, "no API token"},
		{[]string{"server", "--no-auth", "--retention-size", "lots"}, "--retention-size"},
		{[]string{"server", "--no-auth", "--tls-cert-file", "x"}, "go together"},
		{[]string{"query"}, "--db FILE or --server URL"},
		{[]string{"query", "--db", filepath.Join(dir, "missing.db")}, "--db"},
		{[]string{"query", "--db", "x", "--since", "yesterday"}, "--since"},
		{[]string{"query", "--db", "x", "-o", "xml"}, "--output"},
	} {
		_, errOut, code := run(t, "", c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("kordon %s: exit %d, %q; want %d and %q", strings.Join(c.args, " "), code, errOut, exitUsage, c.want)
		}
	}
	db := filepath.Join(dir, "q.db")
	writeFile(t, dir, "q.db", "")
	if _, errOut, code := run(t, "", "query", "--db", db, "nmespace == 1"); code != exitUsage || !strings.Contains(errOut, "undeclared reference") {
		t.Errorf("bad filter: exit %d, %q", code, errOut)
	}
}
