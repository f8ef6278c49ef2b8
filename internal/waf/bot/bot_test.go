package bot

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newGuard(t *testing.T, cfg Config) (*Guard, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	g, err := New(cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

func get(path string, h map[string]string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

var (
	chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	browserH = map[string]string{"User-Agent": chromeUA, "Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-GB,en;q=0.9"}
	ip1      = netip.MustParseAddr("192.0.2.10")
	ip2      = netip.MustParseAddr("192.0.2.11")
)

func TestRateLimit(t *testing.T) {
	g, c := newGuard(t, Config{RateLimits: []RateLimit{
		{Name: "login", Methods: []string{"POST"}, PathPrefix: "/login", Key: "ip", Rate: 1, Burst: 3},
		{Name: "api-key", PathPrefix: "/api/", Key: "header:X-Api-Key", Rate: 10, Burst: 10, Action: Log},
	}})
	post := func(ip netip.Addr) Verdict {
		r := httptest.NewRequest("POST", "/login", nil)
		r.Header.Set("User-Agent", "app/1.0")
		return g.Judge(r, ip)
	}
	for i := range 3 {
		if v := post(ip1); v.Action != Allow {
			t.Fatalf("request %d within the burst: %+v", i, v)
		}
	}
	v := post(ip1)
	if v.Action != Block || v.RetryAfter <= 0 || v.RetryAfter > time.Second || v.Decisions[0].Limit != "login" {
		t.Fatalf("fourth request: %+v, want blocked by login with a retry within 1s", v)
	}
	if v := post(ip2); v.Action != Allow {
		t.Errorf("another client: %+v", v)
	}
	if v := g.Judge(get("/login", nil), ip1); v.Action != Allow {
		t.Errorf("GET is not counted by a POST limit: %+v", v)
	}
	c.t = c.t.Add(time.Second)
	if v := post(ip1); v.Action != Allow {
		t.Errorf("after a second, one token: %+v", v)
	}
	if v := post(ip1); v.Action != Block {
		t.Errorf("and only one: %+v", v)
	}
	// IPv6 clients count by /64.
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	for range 3 {
		post(a)
	}
	if v := post(b); v.Action != Block {
		t.Errorf("a second address of the same /64: %+v", v)
	}
	// Keyed by header: one key shared by two addresses; log only.
	var logged int
	for i := range 12 {
		ip := ip1
		if i%2 == 1 {
			ip = ip2
		}
		v := g.Judge(get("/api/x", map[string]string{"X-Api-Key": "k1", "User-Agent": "app/1.0"}), ip)
		if v.Action == Log {
			logged++
		}
	}
	if logged != 2 {
		t.Errorf("%d requests over the api-key limit logged, want 2", logged)
	}
}

func TestRateLimitTableBounded(t *testing.T) {
	g, c := newGuard(t, Config{MaxClients: 100, RateLimits: []RateLimit{{Name: "all", Key: "ip", Rate: 1, Burst: 1}}})
	for i := range 300 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		g.Judge(get("/", map[string]string{"User-Agent": "app/1.0"}), ip)
	}
	if d := g.Dropped()["all"]; d != 200 {
		t.Errorf("%d clients untracked, want 200", d)
	}
	if n := len(g.limits[0].m); n != 100 {
		t.Errorf("%d buckets, want 100", n)
	}
	c.t = c.t.Add(2 * time.Second) // all refilled: swept for new clients
	g.Judge(get("/", map[string]string{"User-Agent": "app/1.0"}), netip.MustParseAddr("10.9.9.9"))
	if n := len(g.limits[0].m); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1", n)
	}
}

func TestAgents(t *testing.T) {
	for ua, want := range map[string]AgentClass{
		"sqlmap/1.7.2#stable (https://sqlmap.org)":                                                    Scanner,
		"Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)":                                Scanner,
		"Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))": Scanner,
		"curl/8.5.0":             Automation,
		"python-requests/2.31.0": Automation,
		"Go-http-client/1.1":     Automation,
		"Wget/1.21.3":            Automation,
		"":                       Missing,
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36": Headless,
		chromeUA: Browser,
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                                  Browser,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": Browser,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                                                Other,
	} {
		if got := ClassifyAgent(ua); got != want {
			t.Errorf("%q: %s, want %s", ua, got, want)
		}
	}
	g, _ := newGuard(t, Config{Agents: map[AgentClass]Action{Automation: Log}})
	if v := g.Judge(get("/", map[string]string{"User-Agent": "sqlmap/1.7"}), ip1); v.Action != Block || v.Decisions[0].Check != BadAgentCheck {
		t.Errorf("scanner: %+v", v)
	}
	if v := g.Judge(get("/", map[string]string{"User-Agent": "curl/8.5.0"}), ip1); v.Action != Log {
		t.Errorf("curl with automation logged: %+v", v)
	}
	if v := g.Judge(get("/", browserH), ip1); v.Action != Allow {
		t.Errorf("a browser: %+v", v)
	}
	if v := g.Judge(get("/", map[string]string{"User-Agent": chromeUA, "Accept": "*/*"}), ip1); v.Action != Log || v.Decisions[0].Check != AnomalyCheck {
		t.Errorf("a browser's agent without Accept-Language: %+v", v)
	}
	if _, err := New(Config{Agents: map[AgentClass]Action{"robots": Block}}, nil); err == nil {
		t.Error("an unknown agent class is accepted")
	}
}

var challengeRE = regexp.MustCompile(`var challenge = "([A-Za-z0-9_-]+)", difficulty = *(\d+) *;`)

// TestChallengeProtocol plays the browser's part in Go: the page, the
// solution as a cookie, and the ways a cookie must fail.
func TestChallengeProtocol(t *testing.T) {
	g, c := newGuard(t, Config{ChallengeRoutes: []string{"/shop"}, Difficulty: 10, ChallengeTTL: time.Hour})
	r := get("/shop/cart", browserH)
	v := g.Judge(r, ip1)
	if v.Action != Challenge {
		t.Fatalf("first visit: %+v", v)
	}
	w := httptest.NewRecorder()
	if !g.Respond(w, r, v, "req-1") || w.Code != 403 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'nonce-") {
		t.Fatalf("challenge answer %d %v", w.Code, w.Header())
	}
	m := challengeRE.FindStringSubmatch(w.Body.String())
	if m == nil || m[2] != "10" {
		t.Fatalf("no challenge in the page:\n%s", w.Body)
	}
	cookie := m[1] + "." + solve(m[1], 10)
	withCookie := func(value string, ip netip.Addr, h map[string]string) Verdict {
		r := get("/shop/cart", h)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: value})
		return g.Judge(r, ip)
	}
	if v := withCookie(cookie, ip1, browserH); v.Action != Allow {
		t.Errorf("solved: %+v", v)
	}
	if v := g.Judge(get("/", browserH), ip1); v.Action != Allow {
		t.Errorf("outside the challenge routes: %+v", v)
	}
	raw, err := base64.RawURLEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	raw[10] ^= 1 // a bit of the random part: the signature no longer matches
	forged := base64.RawURLEncoding.EncodeToString(raw)
	other := map[string]string{"User-Agent": chromeUA + " Edg/131.0", "Accept": "text/html", "Accept-Language": "en"}
	for name, tc := range map[string]struct {
		value string
		ip    netip.Addr
		h     map[string]string
		why   string
	}{
		"another address":    {cookie, ip2, browserH, "another client"},
		"another user agent": {cookie, ip1, other, "another client"},
		"unsolved":           {m[1] + ".x", ip1, browserH, "not solved"},
		"forged":             {forged + "." + solve(forged, 10), ip1, browserH, "another client"},
		"garbage":            {"<script>", ip1, browserH, "malformed"},
	} {
		v := withCookie(tc.value, tc.ip, tc.h)
		if v.Action != Challenge || !strings.Contains(v.Decisions[len(v.Decisions)-1].Reason, tc.why) {
			t.Errorf("%s: %+v, want a challenge because %s", name, v, tc.why)
		}
	}
	c.t = c.t.Add(61 * time.Minute)
	if v := withCookie(cookie, ip1, browserH); v.Action != Challenge || !strings.Contains(v.Decisions[0].Reason, "expired") {
		t.Errorf("an hour later: %+v", v)
	}
	// An API call without a solved challenge gets no page.
	api := httptest.NewRequest("POST", "/shop/api/order", nil)
	api.Header.Set("User-Agent", chromeUA)
	v = g.Judge(api, ip1)
	w = httptest.NewRecorder()
	if v.Action != Challenge || !g.Respond(w, api, v, "req-2") || w.Code != 403 || strings.Contains(w.Body.String(), "<script") {
		t.Errorf("API call: %+v → %d %s", v, w.Code, w.Body)
	}
}
