package waf

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/rules"
)

// TestEveryLoggingRuleHasACheck fails when a CRS rule that can log is
// reported under no catalogue check, or a catalogued family has no rule.
func TestEveryLoggingRuleHasACheck(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	byFamily := map[int]int{}
	for _, id := range e.RuleIDs() {
		if id >= 900000 && id < 1000000 {
			byFamily[id/1000]++
		}
	}
	for _, f := range families {
		if byFamily[f] == 0 {
			t.Errorf("family %d is catalogued but the core rule set has no rule in it", f)
		}
	}
	// Families without a check hold set-up rules only (nolog).
	for f := range byFamily {
		if !slices.Contains(families, f) && f != 900 && f != 901 && f != 905 {
			t.Errorf("CRS family %d has rules but no KOR-WAF-%d check", f, f)
		}
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range IDs() {
		if r, ok := cat.Lookup(id); !ok || !r.RunsIn(rules.EngineWAF) {
			t.Errorf("%s is not a catalogued waf check", id)
		}
	}
}

func inspect(t *testing.T, e *Engine, method, uri, body string, h http.Header) *Decision {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("User-Agent", "kordon-test")
	h.Set("Accept", "*/*")
	tx := e.Begin(&Request{Method: method, URI: uri, Proto: "HTTP/1.1", Host: "shop.example", Header: h, ClientAddr: "10.0.0.1", ClientPort: 4000})
	if b, err := tx.RequestHeaders(context.Background()); err != nil {
		t.Fatal(err)
	} else if b == nil {
		var r *strings.Reader
		if body != "" {
			r = strings.NewReader(body)
			if _, _, err := tx.RequestBody(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		} else if _, _, err := tx.RequestBody(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return tx.Finish()
}

func TestParanoiaThresholdsAndExclusions(t *testing.T) {
	pl1, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	d := inspect(t, pl1, "GET", "/item?id=1%20OR%201=1", "", nil)
	if d.Blocked == nil || d.Blocked.Status != 403 || d.InboundScore < 5 {
		t.Fatalf("SQLi at PL1: blocked %+v, score %d", d.Blocked, d.InboundScore)
	}
	// A higher inbound threshold lets the same request through.
	lenient, err := New(Config{InboundThreshold: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if d := inspect(t, lenient, "GET", "/item?id=1%20OR%201=1", "", nil); d.Blocked != nil || d.InboundScore < 5 {
		t.Errorf("threshold 1000: blocked %+v, score %d", d.Blocked, d.InboundScore)
	}
	// The route exclusion removes the SQLi rules on /item only.
	excl, err := New(Config{Exclusions: []Exclusion{{PathPrefix: "/item", Methods: []string{"GET"}, Rules: []string{"942000-942999"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := inspect(t, excl, "GET", "/item?id=1%20OR%201=1", "", nil); d.Blocked != nil {
		t.Errorf("excluded route: blocked by %+v (%v)", d.Blocked, d.LoggedIDs())
	}
	if d := inspect(t, excl, "GET", "/other?id=1%20OR%201=1", "", nil); d.Blocked == nil {
		t.Error("other route: not blocked")
	}
	if d := inspect(t, excl, "POST", "/item?id=1%20OR%201=1", "", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); d.Blocked == nil {
		t.Error("excluded route, other method: not blocked")
	}
	// PL2 rule 942430 (restricted SQL characters) fires at PL2, not PL1.
	pl2, err := New(Config{Paranoia: 2, Mode: ModeDetect})
	if err != nil {
		t.Fatal(err)
	}
	q := "/s?q=a%27%28%29%27%28%29%27%28%29%27%28%29%27%28%29%27%28%29"
	if ids := inspect(t, pl2, "GET", q, "", nil).LoggedIDs(); !slices.Contains(ids, 942430) {
		t.Errorf("PL2: %v lacks 942430", ids)
	}
	if ids := inspect(t, pl1, "GET", q, "", nil).LoggedIDs(); slices.Contains(ids, 942430) {
		t.Errorf("PL1: %v has the PL2 rule 942430", ids)
	}
}

func TestEventsRedact(t *testing.T) {
	e, err := New(Config{Mode: ModeDetect})
	if err != nil {
		t.Fatal(err)
	}
	d := inspect(t, e, "POST", "/login", "user=bob&password=%27%20OR%201%3D1--%20hunter2", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Events(time.Unix(0, 0), cat)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events %v, %v", evs, err)
	}
	for _, ev := range evs {
		if strings.Contains(ev.Attributes["matchedData"], "hunter2") {
			t.Errorf("%s shows the password: %s", ev.RuleID, ev.Attributes["matchedData"])
		}
		if ev.Action != "alerted" || ev.Engine != "waf" || ev.Attributes["requestID"] == "" {
			t.Errorf("event %+v", ev)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"password", "hunter2", "[redacted 7 bytes]"},
		{"Authorization", "Bearer x", "[redacted 8 bytes]"},
		{"q", "1' OR 1=1", "1' OR 1=1"},
		{"q", "a\x00\xff", `a\x00\xff`},
		{"q", strings.Repeat("a", 70), strings.Repeat("a", 64) + "…[+6 bytes]"},
	} {
		if got := Redact(tc.name, tc.value); got != tc.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Paranoia: 5}, {Mode: "log"}, {InboundThreshold: -1},
		{Exclusions: []Exclusion{{PathPrefix: "api", Rules: []string{"1"}}}},
		{Exclusions: []Exclusion{{PathPrefix: "/a\"", Rules: []string{"1"}}}},
		{Exclusions: []Exclusion{{PathPrefix: "/a", Rules: []string{"94x"}}}}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestScoreReportIsLoggedNotReported checks CRS's phase-5 reporting rule
// 980170: logged for a request that scored (as CRS's regression tests
// expect; its phase has a default action with log), never an event.
func TestScoreReportIsLoggedNotReported(t *testing.T) {
	e, err := New(Config{TestMode: true, Mode: ModeDetect})
	if err != nil {
		t.Fatal(err)
	}
	tx := e.Begin(&Request{Method: "GET", URI: "/get", Proto: "HTTP/1.1", Host: "127.0.0.1",
		Header: http.Header{"User-Agent": {"OWASP CRS test agent"}, "Accept": {"text/html"}}})
	if _, err := tx.RequestHeaders(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tx.RequestBody(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tx.ResponseHeaders(200, "HTTP/1.1", http.Header{"Content-Type": {"text/plain"}})
	if _, err := tx.ResponseBody(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	d := tx.Finish()
	if ids := d.LoggedIDs(); !slices.Contains(ids, 920350) || !slices.Contains(ids, 980170) {
		t.Fatalf("logged %v, want 920350 (numeric Host) and 980170", ids)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Events(time.Now(), cat)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.RuleID == "KOR-WAF-980" || strings.Contains(ev.Attributes["crsRules"], "980170") {
			t.Errorf("980170 reported: %+v", ev)
		}
	}
	if len(evs) == 0 {
		t.Error("no event for the numeric Host")
	}
}
