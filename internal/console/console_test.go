package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/store"
)

func decode(tb testing.TB, r io.Reader, v any) {
	tb.Helper()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		tb.Fatal(err)
	}
}

// do sends a request and returns the status and body.
func (c *client) do(tb testing.TB, method, path, body string, hdr map[string]string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *client) get(tb testing.TB, path string, v any) {
	tb.Helper()
	code, b := c.do(tb, "GET", path, "", nil)
	if code != 200 {
		tb.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

func TestHeadersAndLogin(t *testing.T) {
	fx := newFixture(t, 200)
	for _, p := range []string{"/", "/console/api/overview", "/findings/deep/link", "/console/api/nope"} {
		resp, err := http.Get(fx.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Security-Policy"); got != CSP || !strings.Contains(got, "script-src 'self';") {
			t.Errorf("%s: CSP %q", p, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, resp.Header)
		}
		switch {
		case p == "/console/api/nope":
			if resp.StatusCode != 404 {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
		case strings.HasPrefix(p, "/console/api/"):
			if resp.StatusCode != 401 {
				t.Errorf("%s without a session: %d", p, resp.StatusCode)
			}
		default:
			// The app's page: no inline script or style, so the CSP holds.
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`<div id="root">`)) ||
				bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte("<style")) || bytes.Contains(body, []byte("style=")) {
				t.Errorf("%s: %d %s", p, resp.StatusCode, body)
			}
		}
	}

	resp, err := http.Post(fx.URL+"/console/login", "application/json", strings.NewReader(`{"token":"wrong-token-0123456789"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	// A login posted from another site is refused (login CSRF).
	req, _ := http.NewRequest("POST", fx.URL+"/console/login", strings.NewReader(`{"token":"`+editorToken+`"}`))
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin login: %d", resp.StatusCode)
	}

	resp, err = http.Post(fx.URL+"/console/login", "application/json", strings.NewReader(`{"token":"`+editorToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess auth.Session
	decode(t, resp.Body, &sess)
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Name != auth.CookieName {
		t.Fatalf("session cookie %+v", cookies)
	}
	if sess.User != "alice" || sess.Role != auth.Editor || len(sess.CSRF) < 40 || strings.Contains(cookies[0].Value, sess.CSRF) {
		t.Errorf("session %+v", sess)
	}

	c := login(t, fx.URL, editorToken)
	var got auth.Session
	c.get(t, "/console/api/session", &got)
	if got.User != "alice" {
		t.Errorf("session %+v", got)
	}
	// Logging out needs the CSRF token, and ends the session.
	if code, _ := c.do(t, "POST", "/console/logout", "", nil); code != 403 {
		t.Errorf("logout without CSRF: %d", code)
	}
	if code, _ := c.do(t, "POST", "/console/logout", "", map[string]string{auth.CSRFHeader: c.csrf}); code != 204 {
		t.Errorf("logout: %d", code)
	}
	if code, b := c.do(t, "GET", "/console/api/session", "", nil); code != 200 || string(b) != `{"oidc":false,"user":""}`+"\n" {
		t.Errorf("after logout: %d %s", code, b)
	}
	if code, _ := c.do(t, "GET", "/console/api/overview", "", nil); code != 401 {
		t.Errorf("overview after logout: %d", code)
	}
}

// TestFindingsPaging walks every page of a filtered listing and checks it
// against the store: each finding once, in order, as many as counted.
func TestFindingsPaging(t *testing.T) {
	fx := newFixture(t, 3000)
	c := login(t, fx.URL, viewerToken)
	ctx := context.Background()
	for _, q := range []string{"severity=high&severity=critical", "namespace=ns-0&rule=KOR-WL-001", "q=app-3&severity=medium", "kind=Deployment"} {
		v, _ := url.ParseQuery(q)
		f, err := parseFilter(v, testNow)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		err = fx.Store.Scan(ctx, f, 0, func(r *store.Record) error {
			if v.Get("q") == "" || matchText(&r.Event, v.Get("q")) {
				want = append(want, r.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		cur := ""
		pages := 0
		for {
			var p FindingsPage
			c.get(t, "/console/api/findings?limit=37&"+q+"&cursor="+cur, &p)
			pages++
			if v.Get("q") == "" && p.Total != int64(len(want)) {
				t.Fatalf("%s: total %d, want %d", q, p.Total, len(want))
			}
			for _, it := range p.Items {
				got = append(got, it.ID)
				if v.Has("severity") && !slices.Contains(v["severity"], it.Severity.String()) {
					t.Errorf("%s: finding %d of severity %s", q, it.ID, it.Severity)
				}
				if it.Title == "" || it.Remediation == "" {
					t.Errorf("%s: row without title or remediation: %+v", q, it)
				}
			}
			if p.Next == "" {
				break
			}
			cur = p.Next
		}
		if len(want) == 0 || !equalIDs(got, want) {
			t.Errorf("%s: %d findings in %d pages, want %d", q, len(got), pages, len(want))
		}
	}

	var p FindingsPage
	c.get(t, "/console/api/findings?group=rule&namespace=ns-1", &p)
	counts, _ := fx.Store.Count(ctx, store.Filter{Types: []store.Type{store.TypeFinding}, Namespaces: []string{"ns-1"}}, []store.Column{store.ColRuleID})
	if len(p.Groups) != len(counts) || p.Groups[0].Count != counts[0].Count || p.Total == 0 {
		t.Errorf("groups %+v, want %+v", p.Groups, counts)
	}
	for _, bad := range []string{"severity=urgent", "group=colour", "limit=0", "limit=100000", "cursor=abc", "since=yesterday"} {
		code, body := c.do(t, "GET", "/console/api/findings?"+bad, "", nil)
		if code != 400 || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestExceptionWorkflow creates an exception as an editor (with the CSRF
// token) and sees the findings it covers marked; a viewer, a request
// without the token and one from another origin are refused.
func TestExceptionWorkflow(t *testing.T) {
	fx := newFixture(t, 500)
	ed := login(t, fx.URL, editorToken)
	vw := login(t, fx.URL, viewerToken)
	body := `{"rule":"KOR-WL-001","namespace":"ns-0","name":"app-*","reason":"batch jobs sized by the queue","expires":"2027-06-30"}`
	hdr := map[string]string{auth.CSRFHeader: ed.csrf, "Content-Type": "application/json"}
	for name, tc := range map[string]struct {
		c   *client
		hdr map[string]string
	}{
		"no CSRF":      {ed, nil},
		"wrong CSRF":   {ed, map[string]string{auth.CSRFHeader: vw.csrf}},
		"cross origin": {ed, map[string]string{auth.CSRFHeader: ed.csrf, "Origin": "https://evil.example"}},
		"cross site":   {ed, map[string]string{auth.CSRFHeader: ed.csrf, "Sec-Fetch-Site": "cross-site"}},
		"viewer":       {vw, map[string]string{auth.CSRFHeader: vw.csrf}},
	} {
		if code, b := tc.c.do(t, "POST", "/console/api/exceptions", body, tc.hdr); code != 403 {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	if code, b := ed.do(t, "POST", "/console/api/exceptions", `{"rule":"KOR-WL-001"}`, hdr); code != 422 || !bytes.Contains(b, []byte("reason is required")) {
		t.Errorf("without reason: %d %s", code, b)
	}
	if code, b := ed.do(t, "POST", "/console/api/exceptions", `{"rule":"KOR-WL-001","reason":"x","colour":"red"}`, hdr); code != 400 || !bytes.Contains(b, []byte("colour")) {
		t.Errorf("unknown field: %d %s", code, b)
	}
	code, b := ed.do(t, "POST", "/console/api/exceptions", body, hdr)
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	var created struct{ ID int64 }
	_ = json.Unmarshal(b, &created)

	var p FindingsPage
	vw.get(t, "/console/api/findings?limit=500&rule=KOR-WL-001&namespace=ns-0", &p)
	covered := 0
	for _, it := range p.Items {
		if it.Exception != "" {
			covered++
			if !strings.Contains(it.Exception, "batch jobs") || !strings.HasPrefix(it.Resource.Name, "app-") {
				t.Errorf("row %+v", it)
			}
		}
	}
	if covered == 0 || covered != len(p.Items) {
		t.Errorf("%d of %d findings covered", covered, len(p.Items))
	}

	code, exported := vw.do(t, "GET", "/console/api/exceptions/export", "", nil)
	if code != 200 || !bytes.Contains(exported, []byte("rule: KOR-WL-001")) || !bytes.Contains(exported, []byte("by alice")) {
		t.Errorf("export: %d %s", code, exported)
	}
	if code, b := ed.do(t, "POST", "/console/api/exceptions/"+itoa(created.ID)+"/revoke", `{"reason":"fixed"}`, hdr); code != 204 {
		t.Errorf("revoke: %d %s", code, b)
	}
	var trail struct {
		Items []struct{ Actor, Action string }
	}
	vw.get(t, "/console/api/exceptions/audit", &trail)
	if len(trail.Items) != 2 || trail.Items[0].Action != "revoked" || trail.Items[1].Actor != "alice" {
		t.Errorf("audit %+v", trail)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestOverviewGolden checks the overview of a fixed data set against its
// golden file, and its figures against the store's counts.
func TestOverviewGolden(t *testing.T) {
	fx := newFixture(t, 1000)
	c := login(t, fx.URL, viewerToken)
	code, b := c.do(t, "GET", "/console/api/overview", "", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var ov Overview
	if err := json.Unmarshal(b, &ov); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, n := range ov.Severity {
		sum += n
	}
	var trend int64
	for _, d := range ov.Trend {
		trend += d.Findings
	}
	if ov.Findings != 1000 || sum != 1000 || trend != 1000 || len(ov.TopRisks) == 0 || len(ov.Frameworks) < 3 || len(ov.Namespaces) != topN {
		t.Errorf("overview %+v", ov)
	}
	var indented bytes.Buffer
	_ = json.Indent(&indented, b, "", "  ")
	golden(t, "overview.json", indented.Bytes())

	code, b = c.do(t, "GET", "/console/api/findings?limit=3&namespace=ns-2&severity=critical", "", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	indented.Reset()
	_ = json.Indent(&indented, b, "", "  ")
	golden(t, "findings-page.json", indented.Bytes())
}

// TestNetworkAPI checks the map, trace, effective policy and intent
// preview requests, and that a preview needs the CSRF token.
func TestNetworkAPI(t *testing.T) {
	fx := newFixture(t, 10)
	vw := login(t, fx.URL, viewerToken)
	var top struct{ Nodes, Edges []map[string]any }
	vw.get(t, "/console/api/map", &top)
	if len(top.Nodes) < 3 || len(top.Edges) == 0 {
		t.Fatalf("map %+v", top)
	}
	w0, w1 := fx.Cluster.Workloads[0].ID(), fx.Cluster.Workloads[1].ID()
	var tr struct {
		Src     string
		Allowed bool
	}
	vw.get(t, "/console/api/trace?src="+url.QueryEscape(w0)+"&dst="+url.QueryEscape(w1)+"&port=tcp/8080", &tr)
	if !strings.HasPrefix(tr.Src, w0) {
		t.Errorf("trace %+v", tr)
	}
	var eff struct{ Workload string }
	vw.get(t, "/console/api/effective?workload="+url.QueryEscape(w0), &eff)
	if eff.Workload != w0 {
		t.Errorf("effective %+v", eff)
	}
	for _, bad := range []string{"/console/api/map?namespace=nope", "/console/api/effective?workload=a/b"} {
		if code, _ := vw.do(t, "GET", bad, "", nil); code != 404 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := vw.do(t, "GET", "/console/api/trace?src=nope/x&dst="+url.QueryEscape(w1), "", nil); code != 400 {
		t.Errorf("trace from nowhere: %d", code)
	}
	intent, _ := json.Marshal(map[string]string{"intent": "apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\nmetadata: {name: x}\ngroups:\n  all: {namespaces: [" +
		fx.Cluster.Workloads[0].Namespace + "]}\nzones:\n  - namespaces: [" + fx.Cluster.Workloads[0].Namespace + "]\nrules:\n  - {from: all, to: all, ports: [tcp/80]}\n"})
	if code, _ := vw.do(t, "POST", "/console/api/intent/preview", string(intent), nil); code != 403 {
		t.Errorf("preview without CSRF: %d", code)
	}
	code, b := vw.do(t, "POST", "/console/api/intent/preview", string(intent), map[string]string{auth.CSRFHeader: vw.csrf})
	var pv struct {
		Policies string
		Total    int
	}
	_ = json.Unmarshal(b, &pv)
	if code != 200 || pv.Total == 0 || !strings.Contains(pv.Policies, "NetworkPolicy") {
		t.Errorf("preview: %d %s", code, b)
	}
	code, b = vw.do(t, "POST", "/console/api/intent/preview", `{"intent":"rules: [{from: a}]"}`, map[string]string{auth.CSRFHeader: vw.csrf})
	if code != 422 || !bytes.Contains(b, []byte("intent:")) {
		t.Errorf("bad intent: %d %s", code, b)
	}
}

// TestOverviewRefresh: a stale overview is served at once and replaced
// in the background by one that counts the new records.
func TestOverviewRefresh(t *testing.T) {
	fx := newFixture(t, 100)
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	srv := New(Options{Store: fx.Store, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	ctx := context.Background()
	if err := srv.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	fill(t, fx.Store, 50) // 50 more findings
	ov, _ := srv.cachedOverview(ctx)
	if ov.Findings != 100 {
		t.Fatalf("fresh overview: %d findings", ov.Findings)
	}
	clock.Add(int64(overviewTTL + time.Second))
	if ov, _ = srv.cachedOverview(ctx); ov.Findings != 100 {
		t.Fatalf("stale overview: %d findings, want the old 100 at once", ov.Findings)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ov.Findings != 150 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		ov, _ = srv.cachedOverview(ctx)
	}
	if ov.Findings != 150 {
		t.Errorf("refreshed overview: %d findings, want 150", ov.Findings)
	}
}

// TestRuleTest evaluates a CEL rule against a fixture over HTTP.
func TestRuleTest(t *testing.T) {
	fx := newFixture(t, 10)
	vw := login(t, fx.URL, viewerToken)
	hdr := map[string]string{auth.CSRFHeader: vw.csrf}
	rule := "id: ACME-1\ntitle: t\ndescription: d\nseverity: high\nremediation: r\nmatch: {workloads: true}\nvalidations:\n  - expression: \"!object.metadata.name.startsWith('bad')\"\n    message: bad name\n"
	fixture := "apiVersion: v1\nkind: Pod\nmetadata: {name: bad-pod, namespace: x}\nspec: {containers: [{name: c, image: i}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good-pod, namespace: x}\nspec: {containers: [{name: c, image: i}]}\n"
	body, _ := json.Marshal(RuleTestRequest{Rules: rule, Fixture: fixture})
	if code, _ := vw.do(t, "POST", "/console/api/rules/test", string(body), nil); code != 403 {
		t.Errorf("without CSRF: %d", code)
	}
	code, b := vw.do(t, "POST", "/console/api/rules/test", string(body), hdr)
	var res RuleTestResult
	_ = json.Unmarshal(b, &res)
	if code != 200 || len(res.Findings) != 1 || res.Findings[0].Resource.Name != "bad-pod" || res.Findings[0].RuleID != "ACME-1" {
		t.Fatalf("%d %s", code, b)
	}
	bad, _ := json.Marshal(RuleTestRequest{Rules: "id: ACME-1\nvalidations:\n  - expression: \"object.spec.(\"\n", Fixture: fixture})
	if code, b := vw.do(t, "POST", "/console/api/rules/test", string(bad), hdr); code != 422 || !bytes.Contains(b, []byte("rules.yaml")) {
		t.Errorf("bad rule: %d %s", code, b)
	}
}
