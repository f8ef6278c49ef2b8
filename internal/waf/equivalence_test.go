package waf

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/waf/crstest"
)

var equivFull = flag.Bool("equiv-full", false, "compare every CRS regression test's requests, not a sample (make crs-regression)")

// corpusItem is one request of the equivalence corpus and the response
// its upstream gives.
type corpusItem struct {
	name string
	req  *Request
	body []byte
	// status, header and respBody are the upstream's answer.
	status   int
	header   http.Header
	respBody []byte
}

// outcome is everything a caller of the engine sees of one request.
type outcome struct {
	Steps []string
	// Decision without the request (the same pointer on both sides).
	Blocked                     *Block
	Matches                     []Match
	InboundScore, OutboundScore int
	Mode                        Mode
}

// againstReruns runs item through the baseline engine again, a few times:
// same reports whether one of the runs gives got, stable whether they all
// gave want.
func againstReruns(ctx context.Context, base *Engine, it corpusItem, want, got outcome) (same, stable bool) {
	stable = true
	for range 64 {
		o := pass(ctx, base, it)
		if reflect.DeepEqual(o, got) {
			return true, false
		}
		if !reflect.DeepEqual(o, want) {
			stable = false
		}
	}
	return false, stable
}

// verdict is the outcome without the matched rules' messages and data:
// the blocks, the anomaly scores and the matched rules, in order.
func (o outcome) verdict() outcome {
	v := o
	v.Matches = nil
	for _, m := range o.Matches {
		v.Matches = append(v.Matches, Match{RuleID: m.RuleID, Check: m.Check, Phase: m.Phase})
	}
	return v
}

// pass runs item through every phase the way the proxy does, with the
// same request ID on both engines.
func pass(ctx context.Context, e *Engine, it corpusItem) outcome {
	var o outcome
	step := func(format string, args ...any) { o.Steps = append(o.Steps, fmt.Sprintf(format, args...)) }
	r := *it.req
	r.Header = it.req.Header.Clone()
	tx := e.Begin(&r)
	b, err := tx.RequestHeaders(ctx)
	step("phase 1: %+v %v", b, err)
	if err == nil && b == nil {
		var body io.Reader
		if len(it.body) > 0 {
			body = bytes.NewReader(it.body)
		}
		var fwd io.Reader
		b, fwd, err = tx.RequestBody(ctx, body)
		var fwdBody []byte
		if fwd != nil {
			fwdBody, _ = io.ReadAll(fwd)
		}
		step("phase 2: %+v %v forwarded %q", b, err, fwdBody)
		if err == nil && b == nil {
			b = tx.ResponseHeaders(it.status, "HTTP/1.1", it.header)
			step("phase 3: %+v", b)
			if b == nil {
				var rb []byte
				inspects := tx.InspectsResponseBody()
				if inspects {
					rb = it.respBody[:min(len(it.respBody), e.cfg.ResponseBodyLimit)]
				}
				b, err = tx.ResponseBody(ctx, rb)
				step("phase 4 (body inspected: %v): %+v %v", inspects, b, err)
			}
		}
	}
	d := tx.Finish()
	o.Blocked, o.Matches, o.InboundScore, o.OutboundScore, o.Mode = d.Blocked, d.Matches, d.InboundScore, d.OutboundScore, d.Mode
	return o
}

// TestEquivalence requires the engine's speed settings to change nothing:
// every request of a corpus (benign requests of many shapes and the
// requests of CRS's regression tests, with the test backend's responses)
// gets the same blocks, the same matched rules in the same order with the
// same messages and data, and the same anomaly scores with and without
// them, in the configurations Kordon runs CRS in.
func TestEquivalence(t *testing.T) {
	corpus := benignCorpus(t)
	crs, unparsed := crsCorpus(t, !*equivFull)
	corpus = append(corpus, crs...)
	t.Logf("corpus: %d requests (%d from CRS's regression tests; %d of their requests are not HTTP that Go's server accepts, so no engine sees them)",
		len(corpus), len(crs), unparsed)
	configs := []struct {
		name string
		cfg  Config
	}{
		{"regression settings, detect", Config{Mode: ModeDetect, TestMode: true}},
		{"paranoia 1, block", Config{}},
		{"paranoia 2, block, exclusions", Config{Paranoia: 2, Exclusions: []Exclusion{
			{PathPrefix: "/api/", Rules: []string{"942100", "920000-920999"}},
			{PathPrefix: "/", Methods: []string{"POST"}, Rules: []string{"941100"}},
		}}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			// No inspection bound in practice: a request overrunning it on
			// one side only would differ for a reason that is not the
			// settings.
			c.cfg.InspectTimeout = 10 * time.Minute
			opt, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.cfg.baseline = true
			base, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			matched, blocked, unstable := compareEngines(t, corpus, opt, base)
			screened, escalated := opt.ScreenStats()
			if s, ok := opt.screen.(interface{ RuleIDs() []int }); ok {
				t.Logf("screen: %d rules; %d of %d transactions moved to the full rule set", len(s.RuleIDs()), escalated, screened)
			}
			t.Logf("%d requests, %d with matched rules, %d blocked; %d reported differently by Coraza from run to run (same verdict required)", len(corpus), matched, blocked, unstable)
			if matched == 0 {
				t.Error("no rule matched anywhere: the corpus does not exercise the rules")
			}
		})
	}
}

// compareEngines requires got to give every request of corpus the outcome
// want (the reference) gives it, allowing for the requests Coraza itself
// reports differently from run to run (then the verdict must be the
// same). It returns how many requests matched rules, were blocked, and
// were reported unstably.
func compareEngines(t *testing.T, corpus []corpusItem, opt, base *Engine) (matched, blocked, unstable int) {
	t.Helper()
	ctx := context.Background()
	for _, it := range corpus {
		want := pass(ctx, base, it)
		got := pass(ctx, opt, it)
		if !reflect.DeepEqual(got, want) {
			switch same, stable := againstReruns(ctx, base, it, want, got); {
			case same:
				// One of the outcomes Coraza gives this request.
				if !stable {
					unstable++
				}
			case !stable:
				// Coraza reports this request differently from run
				// to run (it walks some collections, such as
				// multipart part headers, in Go's random map
				// order): the verdict must still be the same.
				unstable++
				if !reflect.DeepEqual(got.verdict(), want.verdict()) {
					t.Errorf("%s: verdict with the optimisations\n%+v\nwithout them\n%+v", it.name, got.verdict(), want.verdict())
				}
			default:
				t.Errorf("%s: with the optimisations\n%+v\nwithout them\n%+v", it.name, got, want)
			}
		}
		if len(want.Matches) > 0 {
			matched++
		}
		if want.Blocked != nil {
			blocked++
		}
	}
	return matched, blocked, unstable
}

// benignCorpus is requests of many shapes an application sees, with
// responses of the media types CRS does and does not inspect.
func benignCorpus(t *testing.T) []corpusItem {
	browser := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Cookie":          {"session=3f2a9c1e; theme=dark"},
	}
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("title", "Holiday photos")
	fw, _ := mw.CreateFormFile("file", "beach.jpg")
	_, _ = fw.Write(bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 'J', 'F', 'I', 'F'}, 64))
	_ = mw.Close()
	form := url.Values{"name": {"Ada Lovelace"}, "email": {"ada@example.org"}, "comment": {"Lovely tea, would order again! 10/10"}}.Encode()
	html := "<!doctype html><html><head><title>Winter teas</title></head><body>" +
		strings.Repeat("<p>Black tea, green tea and rooibos for the cold months.</p>", 40) + "</body></html>"
	type shape struct {
		method, uri, body string
		h                 http.Header
		status            int
		ctype, resp       string
	}
	shapes := []shape{
		{"GET", "/", "", browser, 200, "text/html", html},
		{"GET", "/products/42?page=2&sort=price", "", browser, 200, "application/json", `{"id":42,"name":"tea"}`},
		{"GET", "/search?q=green+tea&lang=en&page=1&per_page=50&filter%5Bprice%5D=lt-10", "", browser, 200, "text/html", html},
		{"GET", "/static/app.3f2a9c1e.js", "", with(browser, "Accept", "*/*", "Referer", "https://shop.example/"), 200, "application/javascript", "console.log('hi');"},
		{"GET", "/images/tea%20pot.png", "", browser, 200, "image/png", "\x89PNG\r\n\x1a\n"},
		{"GET", "/wiki/Caf%C3%A9_au_lait", "", browser, 200, "text/html", "<p>Café au lait – naïve résumé</p>"},
		{"GET", "/missing", "", browser, 404, "text/html", "<h1>Not found</h1>"},
		{"GET", "/error", "", browser, 500, "text/plain", "internal error"},
		{"HEAD", "/products/42", "", browser, 200, "application/json", ""},
		{"OPTIONS", "/api/orders", "", with(browser, "Origin", "https://app.example", "Access-Control-Request-Method", "POST"), 204, "", ""},
		{"DELETE", "/api/orders/a81f", "", with(browser, "Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"), 204, "", ""},
		{"GET", "/api/v1/users?ids=1,2,3&fields=name,email", "", with(browser, "Accept", "application/json", "X-Requested-With", "XMLHttpRequest"), 200, "application/json", `[{"name":"ada"}]`},
		{"POST", "/api/orders", `{"items":[{"sku":"TEA-001","qty":2},{"sku":"CUP-17","qty":1}],"note":"leave at the door","coupon":"WINTER25"}`,
			with(browser, "Content-Type", "application/json"), 201, "application/json", `{"order":"a81f"}`},
		{"PUT", "/api/profile", `{"bio":"` + strings.Repeat("I like tea and long walks. ", 300) + `"}`,
			with(browser, "Content-Type", "application/json"), 200, "application/json", `{}`},
		{"POST", "/contact", form, with(browser, "Content-Type", "application/x-www-form-urlencoded"), 200, "text/html", "<p>Thanks!</p>"},
		{"POST", "/upload", mp.String(), with(browser, "Content-Type", mw.FormDataContentType()), 200, "text/plain", "stored"},
		{"POST", "/soap", `<?xml version="1.0"?><Envelope><Body><GetPrice><Item>tea</Item></GetPrice></Body></Envelope>`,
			with(browser, "Content-Type", "text/xml"), 200, "text/xml", "<Price>3</Price>"},
		{"POST", "/notes", "just some plain text, nothing else", with(browser, "Content-Type", "text/plain"), 200, "text/plain", "ok"},
		{"GET", "/feed", "", with(browser, "If-None-Match", `"a81f"`, "If-Modified-Since", "Fri, 04 Dec 2026 10:00:00 GMT"), 304, "", ""},
		{"GET", "/health", "", http.Header{"User-Agent": {"kube-probe/1.34"}}, 200, "text/plain", "ok"},
		{"GET", "/metrics", "", http.Header{"User-Agent": {"Prometheus/3.5.0"}, "Accept": {"text/plain;version=0.0.4"}}, 200, "text/plain", "up 1\n"},
		{"GET", "/", "", http.Header{}, 200, "text/html", html},
		// Near misses and attacks: the rules must match the same way.
		{"GET", "/item?id=1%20OR%201=1", "", browser, 200, "application/json", `{}`},
		{"GET", "/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", "", browser, 200, "application/json", `{}`},
		{"GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "", browser, 200, "text/html", html},
		{"GET", "/download?file=../../../../etc/passwd", "", browser, 200, "text/plain", "root:x:0:0:root:/root:/bin/bash\n"},
		{"POST", "/run", "cmd=;cat%20/etc/passwd", with(browser, "Content-Type", "application/x-www-form-urlencoded"), 200, "text/plain", "ok"},
		{"GET", "/", "", with(browser, "User-Agent", "sqlmap/1.8"), 200, "text/html", html},
		{"GET", "/page", "", browser, 200, "text/html", "<b>Warning</b>: mysql_fetch_array() expects parameter 1 to be resource"},
		{"GET", "/debug", "", browser, 500, "text/html", "<title>Index of /</title>"},
	}
	var out []corpusItem
	for i, s := range shapes {
		h := s.h.Clone()
		rh := http.Header{}
		if s.ctype != "" {
			rh.Set("Content-Type", s.ctype)
		}
		rh.Set("Content-Length", fmt.Sprint(len(s.resp)))
		out = append(out, corpusItem{
			name:   fmt.Sprintf("benign %d: %s %s", i, s.method, s.uri),
			req:    &Request{ID: fmt.Sprintf("corpus-%d", i), Method: s.method, URI: s.uri, Proto: "HTTP/1.1", Host: "shop.example", Header: h, ClientAddr: "10.0.0.1", ClientPort: 40000 + i, ServerAddr: "10.0.0.2", ServerPort: 8080},
			body:   []byte(s.body),
			status: s.status, header: rh, respBody: []byte(s.resp),
		})
	}
	t.Logf("benign corpus: %d requests", len(out))
	return out
}

// sensitiveTests are in the sample whatever their size: tests whose
// matches Coraza's regex pre-filter loses (TestRegexPreFilterLosesMatches).
var sensitiveTests = []string{"942220-2", "932311-7"}

// crsCorpus is the requests of CRS's regression tests (with sample, the
// first test of each rule's file whose requests are under 16 KB; of a
// quarter of the files under the race detector), each
// answered by CRS's test backend. It also returns how many requests are
// not HTTP Go's server accepts.
func crsCorpus(t *testing.T, sample bool) (out []corpusItem, unparsed int) {
	tests, err := crstest.Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	up := crstest.Upstream()
	fileIndex := map[string]int{}
	for _, tc := range tests {
		if sample && !slices.Contains(sensitiveTests, tc.ID) {
			if _, ok := fileIndex[tc.File]; !ok {
				fileIndex[tc.File] = len(fileIndex)
			}
			// Under the race detector (which the engine's sequential
			// passes do not need) a quarter of the files.
			if raceEnabled && fileIndex[tc.File]%4 != 0 {
				continue
			}
			raws := 0
			for _, s := range tc.Stages {
				raw, _ := s.Input.Raw()
				raws += len(raw)
			}
			if seen[tc.File] || raws > 16<<10 {
				continue
			}
			seen[tc.File] = true
		}
		for i, s := range tc.Stages {
			raw, err := s.Input.Raw()
			if err != nil {
				t.Fatalf("%s stage %d: %v", tc.ID, i+1, err)
			}
			hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				unparsed++
				continue
			}
			body, err := io.ReadAll(io.LimitReader(hr.Body, 16<<20))
			if err != nil {
				unparsed++
				continue
			}
			h := hr.Header
			if len(hr.TransferEncoding) > 0 {
				h = h.Clone()
				h["Transfer-Encoding"] = []string{strings.Join(hr.TransferEncoding, ", ")}
			}
			name := fmt.Sprintf("CRS test %s stage %d", tc.ID, i+1)
			req := &Request{ID: name, Method: hr.Method, URI: hr.RequestURI, Proto: hr.Proto, Host: hr.Host, Header: h,
				ClientAddr: "127.0.0.1", ClientPort: 50000 + i, ServerAddr: "127.0.0.1", ServerPort: 8080}
			hr.Body = io.NopCloser(bytes.NewReader(body))
			rec := httptest.NewRecorder()
			up.ServeHTTP(rec, hr)
			out = append(out, corpusItem{name: name, req: req, body: body,
				status: rec.Code, header: rec.Result().Header, respBody: rec.Body.Bytes()})
		}
	}
	return out, unparsed
}

// TestRegexPreFilterLosesMatches shows that the equivalence test catches
// a setting that changes verdicts: Coraza's experimental regex
// pre-filter (SecRxPreFilter On, Coraza v3.8.1) misses CRS rule 942220 on
// CRS test 942220-2 and rule 932311 on 932311-7, so Kordon leaves it
// off. When this test fails, Coraza has fixed it: run make crs-regression
// with it on before turning it on.
func TestRegexPreFilterLosesMatches(t *testing.T) {
	crs, _ := crsCorpus(t, true)
	ctx := context.Background()
	// Coraza's own @rx (the pre-filter is part of it), with and without.
	cfg := Config{Mode: ModeDetect, TestMode: true}
	cfg.baseline = true
	base, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.extra = "SecRxPreFilter On\n"
	pre, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		name string
		rule int
	}{{"CRS test 942220-2 stage 1", 942220}, {"CRS test 932311-7 stage 1", 932311}} {
		i := slices.IndexFunc(crs, func(it corpusItem) bool { return it.name == want.name })
		if i < 0 {
			t.Fatalf("%s is not in the corpus", want.name)
		}
		has := func(o outcome) bool {
			return slices.ContainsFunc(o.Matches, func(m Match) bool { return m.RuleID == want.rule })
		}
		if !has(pass(ctx, base, crs[i])) {
			t.Errorf("%s: rule %d does not match without the pre-filter", want.name, want.rule)
		}
		if has(pass(ctx, pre, crs[i])) {
			t.Errorf("%s: rule %d matches with Coraza's regex pre-filter: it may have been fixed", want.name, want.rule)
		}
	}
}
