package proxy_test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
	"github.com/kordon-dev/kordon/internal/waf/bot"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

// TestAPISchemaAndBots runs the OpenAPI stage and the bot guard in the
// real proxy: requests the specification declares reach the upstream,
// those that break it are blocked with 403 and KOR-WAF-10x events, a
// scanner is blocked before the engine, and a rate limit answers 429.
func TestAPISchemaAndBots(t *testing.T) {
	spec, err := os.ReadFile("../apischema/testdata/clinic-3.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := apischema.Load(spec, "clinic", apischema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := waf.New(waf.Config{}, schema.Stage())
	if err != nil {
		t.Fatal(err)
	}
	guard, err := bot.New(bot.Config{RateLimits: []bot.RateLimit{{Name: "create", Methods: []string{"POST"}, PathPrefix: "/api/v1/pets", Key: "ip", Rate: 0.001, Burst: 2}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{up: &recorder{}}
	upAddr := listen(t, h.up, proxy.DefaultLimits)
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(eng, proxy.Options{Upstream: &url.URL{Scheme: "http", Host: upAddr}, Catalogue: cat, Guard: guard,
		Events: func(e finding.Event) { h.mu.Lock(); h.events = append(h.events, e); h.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	h.addr = listen(t, p, proxy.DefaultLimits)

	send := func(method, target, body, ua string) int {
		req, err := http.NewRequest(method, "http://"+h.addr+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", ua)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, target, body, ua string
		status                   int
		check                    string
	}{
		{"GET", "/api/v1/pets?limit=5", "", "app/1.0", 200, ""},
		{"GET", "/api/v1/pets?limit=500", "", "app/1.0", 403, apischema.CheckParameter},
		{"GET", "/api/v1/admin/users", "", "app/1.0", 403, apischema.CheckUnknownRoute},
		{"OPTIONS", "/api/v1/pets", "", "app/1.0", 403, apischema.CheckMethodNotAllowed},
		{"POST", "/api/v1/pets", `{"name":"Rex","species":"dog"}`, "app/1.0", 200, ""},
		{"POST", "/api/v1/pets", `{"name":"Rex","species":"dog","role":"admin"}`, "app/1.0", 403, apischema.CheckBody},
		{"GET", "/api/v1/pets?limit=5", "", "sqlmap/1.7.2#stable (https://sqlmap.org)", 403, bot.CheckBadAgent},
		{"POST", "/api/v1/pets", `{"name":"Tom","species":"cat"}`, "app/1.0", 429, bot.CheckRateLimit},
	} {
		before := len(h.got())
		if got := send(tc.method, tc.target, tc.body, tc.ua); got != tc.status {
			t.Errorf("%s %s (%s): status %d, want %d", tc.method, tc.target, tc.ua, got, tc.status)
		}
		events := h.got()[before:]
		if tc.check == "" {
			continue
		}
		found := false
		for _, e := range events {
			if e.Finding.RuleID == tc.check && e.Action == finding.ActionBlocked {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: no blocked %s event in %+v", tc.method, tc.target, tc.check, events)
		}
	}
	if seen := h.up.seen(); len(seen) != 2 {
		t.Errorf("the upstream saw %v, want the two valid requests", seen)
	}
}
