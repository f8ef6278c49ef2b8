package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

const token = "s3cret-token"

func start(t *testing.T, mod func(*httpapi.Options)) (*httptest.Server, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env, err := query.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	o := httpapi.Options{Store: st, Env: env, Token: token, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&o)
	}
	srv := httptest.NewServer(httpapi.New(o).Handler())
	t.Cleanup(srv.Close)
	return srv, st
}

func post(t *testing.T, srv *httptest.Server, path, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

const events = `[
 {"time": "2026-03-02T10:00:00Z", "engine": "admission", "action": "denied", "actor": {"user": "alice"},
  "ruleID": "KOR-POD-001", "title": "Privileged container", "severity": "critical", "controls": ["CIS:5.2.1"],
  "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
  "message": "container web runs privileged", "attributes": {"source": "governance"}},
 {"time": "2026-03-02T10:05:00Z", "engine": "waf", "action": "blocked", "actor": {"address": "203.0.113.7"},
  "ruleID": "KOR-WAF-001", "title": "SQL injection", "severity": "high", "controls": [],
  "resource": {"apiVersion": "v1", "kind": "Service", "namespace": "shop", "name": "api"},
  "message": "request blocked", "attributes": {"path": "/login"}},
 {"time": "2026-03-02T10:06:00Z", "engine": "flow", "action": "observed", "ruleID": "", "title": "", "severity": "info", "controls": [],
  "resource": {"apiVersion": "v1", "kind": "Pod", "namespace": "pay", "name": "db-0"}, "message": "",
  "attributes": {"dst": "10.0.0.9", "dstPort": "5432"}},
 {"time": "2026-03-02T10:07:00Z", "engine": "waf", "action": "exploded", "severity": "high"},
 {"time": "2026-03-02T10:08:00Z", "engine": "waf", "action": "blocked", "severity": "dire"},
 {"time": "2026-03-02T10:09:00Z", "engine": "waf", "action": "blocked", "severty": "high"},
 {"action": "blocked", "severity": "low"},
 {"time": "2099-01-01T00:00:00Z", "engine": "waf", "action": "blocked"}
]`

func TestIngestAndQuery(t *testing.T) {
	srv, _ := start(t, nil)
	code, body := post(t, srv, "/api/v1/events", token, events)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422 (some rejected): %s", code, body)
	}
	golden(t, "ingest-events.json", body)

	// NDJSON with a broken line: the good lines are stored.
	nd := `{"time": "2026-03-02T11:00:00Z", "engine": "sensor", "action": "alerted", "ruleID": "KOR-RT-001", "severity": "high", "resource": {"apiVersion": "v1", "kind": "Pod", "namespace": "pay", "name": "db-0"}, "actor": {"process": "/bin/sh"}, "message": "shell"}
{"time": oops}

{"engine": "sensor", "action": "killed", "ruleID": "KOR-RT-002", "severity": "critical", "resource": {"apiVersion": "v1", "kind": "Pod", "namespace": "pay", "name": "db-0"}}
`
	code, body = post(t, srv, "/api/v1/events", token, nd)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"accepted": 2`) || !strings.Contains(body, "line 2: not valid JSON") {
		t.Fatalf("NDJSON ingest: status %d: %s", code, body)
	}

	// A scan report: its findings are stored, suppressed ones are not.
	report := `{"schemaVersion": "kordon.io/scan/v1", "generatedAt": "2026-03-02T09:00:00Z", "target": "deploy/",
 "tool": {"name": "kordon", "version": "dev"},
 "findings": [
  {"ruleID": "KOR-WL-001", "title": "No CPU limit", "severity": "medium", "controls": ["NSA:resources"],
   "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
   "location": {"file": "deploy/web.yaml", "line": 3}, "message": "no CPU limit", "remediation": "Set one."},
  {"title": "no rule id", "severity": "low", "controls": [], "resource": {"apiVersion": "v1", "kind": "Pod", "name": "x"}, "message": ""}
 ],
 "suppressed": [{"ruleID": "KOR-POD-002", "title": "Host network", "severity": "high", "controls": [], "resource": {"apiVersion": "v1", "kind": "Pod", "name": "x"}, "message": ""}],
 "expiredExceptions": [], "scores": [], "errors": [], "warnings": [], "summary": {}}`
	code, body = post(t, srv, "/api/v1/findings", token, report)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"accepted": 1`) || !strings.Contains(body, "ruleID: missing") {
		t.Fatalf("findings ingest: status %d: %s", code, body)
	}

	for _, c := range []struct {
		name string
		req  string
	}{
		{"query-records.json", `{"filter": "severityRank >= 3", "from": "2026-03-02T00:00:00Z"}`},
		{"query-groups.json", `{"filter": "resource.namespace in [\"shop\", \"pay\"]", "since": "24h", "groupBy": ["resource.namespace", "engine"]}`},
		{"query-residual.json", `{"filter": "type == \"event\" && actor.process == \"/bin/sh\"", "count": true}`},
		{"query-findings.json", `{"filter": "type == \"finding\"", "limit": 5}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, srv, "/api/v1/query", token, c.req)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			golden(t, c.name, body)
			// The client reads what the server writes.
			var req httpapi.QueryRequest
			if err := json.Unmarshal([]byte(c.req), &req); err != nil {
				t.Fatal(err)
			}
			cl := &httpapi.Client{BaseURL: srv.URL, Token: token, HTTP: srv.Client()}
			res, err := cl.Query(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			_ = enc.Encode(res)
			if again := buf.String(); again != body {
				t.Errorf("client result re-encoded differs:\n%s\nwant\n%s", again, body)
			}
		})
	}

	// GET with URL parameters gives the same answer as POST.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/query?filter=engine+%3D%3D+%22waf%22&count=true", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"count": 1`) {
		t.Errorf("GET query: %d %s", resp.StatusCode, b)
	}
}

func TestRequestErrors(t *testing.T) {
	srv, st := start(t, func(o *httpapi.Options) { o.MaxBody = 4096; o.MaxBatch = 3 })
	for _, c := range []struct {
		name, path, tok, body string
		code                  int
		want                  string
	}{
		{"no token", "/api/v1/events", "", "[]", 401, "bearer token"},
		{"wrong token", "/api/v1/query", "nope", "{}", 401, "bearer token"},
		{"body too large", "/api/v1/events", token, "[" + strings.Repeat(" ", 5000) + "]", 413, "over 4096 bytes"},
		{"batch too large", "/api/v1/events", token, `[{},{},{},{}]`, 413, "4 records in one request"},
		{"not JSON", "/api/v1/events", token, `[{"time": `, 400, "JSON array"},
		{"empty", "/api/v1/events", token, ` `, 400, "empty body"},
		{"report without findings", "/api/v1/findings", token, `{"schemaVersion": "x"}`, 400, "layout of kordon scan -o json"},
		{"bad filter", "/api/v1/query", token, `{"filter": "nmespace == 1"}`, 400, "undeclared reference"},
		{"unknown query field", "/api/v1/query", token, `{"filtre": "true"}`, 400, "unknown field"},
		{"bad since", "/api/v1/query", token, `{"since": "yesterday"}`, 400, "since"},
		{"bad group", "/api/v1/query", token, `{"groupBy": ["colour"]}`, 400, "group by"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, srv, c.path, c.tok, c.body)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("status %d, body %s; want %d containing %q", code, body, c.code, c.want)
			}
		})
	}
	if s, err := st.Stats(t.Context()); err != nil || s.Records != 0 {
		t.Errorf("rejected requests stored records: %+v %v", s, err)
	}
}

func TestIngestedHookWithoutAuth(t *testing.T) {
	var got []store.Record
	srv, _ := start(t, func(o *httpapi.Options) {
		o.Token = ""
		o.Ingested = func(_ context.Context, recs []store.Record) { got = append(got, recs...) }
	})
	code, body := post(t, srv, "/api/v1/events", "", `[{"engine": "waf", "action": "blocked", "severity": "high"}]`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if len(got) != 1 || got[0].ID == 0 || !got[0].Event.Time.Equal(now) {
		t.Errorf("hook got %+v; want the stored record with its ID and the server's time", got)
	}
}

func TestClientSend(t *testing.T) {
	srv, st := start(t, nil)
	cl := &httpapi.Client{BaseURL: srv.URL, Token: token, HTTP: srv.Client()}
	var buf bytes.Buffer
	for i := range 100 {
		fmt.Fprintf(&buf, `{"time": "2026-03-02T10:%02d:00Z", "engine": "flow", "action": "observed", "resource": {"apiVersion": "v1", "kind": "Pod", "namespace": "n", "name": "p"}}`+"\n", i%60)
	}
	res, err := cl.Send(t.Context(), "/api/v1/events", buf.Bytes())
	if err != nil || res.Accepted != 100 || len(res.Rejected) != 0 {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if s, _ := st.Stats(t.Context()); s.Records != 100 {
		t.Errorf("stored %d records, want 100", s.Records)
	}
	bad := &httpapi.Client{BaseURL: srv.URL, Token: "wrong", HTTP: srv.Client()}
	if _, err := bad.Send(t.Context(), "/api/v1/events", buf.Bytes()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Send with a wrong token: %v", err)
	}
}

func TestIngestFlows(t *testing.T) {
	h := flowlog.NewHistory()
	f, err := os.Open("../../flowlog/testdata/pods.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.LoadHistory(f, "pods.json"); err != nil {
		t.Fatal(err)
	}
	late := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	srv, _ := start(t, func(o *httpapi.Options) {
		o.Now = func() time.Time { return late }
		o.Flows = &flowlog.Normalizer{History: h, Now: o.Now}
	})
	vpc, err := os.ReadFile("../../flowlog/testdata/vpc-v5.log")
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(t, srv, "/api/v1/flows", token, string(vpc))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"accepted": 3`) || !strings.Contains(body, `body:5: dstaddr \"not-an-ip\"`) {
		t.Fatalf("status %d: %s", code, body)
	}
	hub, err := os.ReadFile("../../netpol/flow/testdata/hubble.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, srv, "/api/v1/flows?format=hubble", token, string(hub)); code != 200 || !strings.Contains(body, `"accepted": 4`) {
		t.Fatalf("hubble: status %d: %s", code, body)
	}
	code, body = post(t, srv, "/api/v1/query", token, `{"filter": "engine == \"flow\"", "groupBy": ["resource.namespace", "resource.name", "action"]}`)
	if code != 200 {
		t.Fatalf("query: %d %s", code, body)
	}
	golden(t, "query-flows.json", body)
	if code, body := post(t, srv, "/api/v1/flows?format=netflow", token, "x"); code != 400 || !strings.Contains(body, "want one of") {
		t.Errorf("unknown format: %d %s", code, body)
	}
}
