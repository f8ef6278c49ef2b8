package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

// recorder is an upstream that records what reached it.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	paths  []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, string(b))
	rc.paths = append(rc.paths, r.URL.RequestURI())
	rc.mu.Unlock()
	if r.URL.Path == "/leak" {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>Warning: mysql_fetch_array() expects parameter 1 to be resource, boolean given in /var/www/x.php on line 3</html>")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, "ok")
}

func (rc *recorder) seen() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.paths...)
}

type harness struct {
	addr   string
	up     *recorder
	mu     sync.Mutex
	events []finding.Event
}

func (h *harness) got() []finding.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]finding.Event(nil), h.events...)
}

var (
	engOnce sync.Map // config key -> *waf.Engine, shared by tests (compiling CRS takes a while)
)

func engine(t testing.TB, cfg waf.Config) *waf.Engine {
	t.Helper()
	if cfg.InspectTimeout == 0 {
		// Bodies at the 10 MB limit take seconds under -race on a loaded
		// machine; the bound itself is tested in failopen_test.go.
		cfg.InspectTimeout = 10 * time.Minute
	}
	key := fmt.Sprintf("%+v", cfg)
	if e, ok := engOnce.Load(key); ok {
		return e.(*waf.Engine)
	}
	e, err := waf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	engOnce.Store(key, e)
	return e
}

func start(t testing.TB, cfg waf.Config, limits proxy.Limits) *harness {
	t.Helper()
	h := &harness{up: &recorder{}}
	upAddr := listen(t, h.up, proxy.DefaultLimits)
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(engine(t, cfg), proxy.Options{Upstream: &url.URL{Scheme: "http", Host: upAddr}, Catalogue: cat,
		Events: func(e finding.Event) { h.mu.Lock(); h.events = append(h.events, e); h.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	h.addr = listen(t, p, limits)
	return h
}

// startProxyTo starts a block-mode proxy in front of upstream.
func startProxyTo(t testing.TB, upstream string) string {
	t.Helper()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(engine(t, waf.Config{}), proxy.Options{Upstream: &url.URL{Scheme: "http", Host: upstream}, Catalogue: cat})
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, p, proxy.DefaultLimits)
}

func listen(t testing.TB, hd http.Handler, l proxy.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := proxy.NewServer("", hd, l)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, addr, target string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+target, nil)
	req.Host = "localhost" // a numeric Host is itself a CRS finding (920350)
	req.Header.Set("User-Agent", "kordon-test")
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestBlockAndDetect(t *testing.T) {
	block := start(t, waf.Config{}, proxy.DefaultLimits)
	resp, _ := get(t, block.addr, "/search?q=hello")
	if resp.StatusCode != 200 || resp.Header.Get(proxy.HeaderRequestID) == "" {
		t.Fatalf("benign GET: %d, request id %q", resp.StatusCode, resp.Header.Get(proxy.HeaderRequestID))
	}
	if resp.Header.Get(proxy.HeaderRules) != "" {
		t.Error("rules header outside test mode")
	}
	resp, body := get(t, block.addr, "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--")
	id := resp.Header.Get(proxy.HeaderRequestID)
	if resp.StatusCode != http.StatusForbidden || id == "" || !strings.Contains(body, id) {
		t.Fatalf("SQL injection: %d, id %q, body %q", resp.StatusCode, id, body)
	}
	if seen := block.up.seen(); len(seen) != 1 {
		t.Errorf("upstream saw %v, want only the benign request", seen)
	}
	evs := block.got()
	var sqli, blocking bool
	for _, e := range evs {
		if e.Engine != "waf" || e.Action != finding.ActionBlocked || e.Attributes["requestID"] != id {
			t.Errorf("event %+v", e)
		}
		sqli = sqli || e.RuleID == "KOR-WAF-942" && strings.Contains(e.Attributes["crsRules"], "942")
		blocking = blocking || e.RuleID == "KOR-WAF-949" && len(e.Attributes["inboundScore"]) >= 1 && e.Attributes["inboundScore"] != "0"
	}
	if !sqli || !blocking {
		t.Errorf("events lack the SQLi family or the blocking evaluation: %+v", evs)
	}

	detect := start(t, waf.Config{Mode: waf.ModeDetect}, proxy.DefaultLimits)
	resp, _ = get(t, detect.addr, "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--")
	if resp.StatusCode != 200 {
		t.Errorf("detect mode: %d, want 200", resp.StatusCode)
	}
	var alerted bool
	for _, e := range detect.got() {
		alerted = alerted || e.RuleID == "KOR-WAF-949" && e.Action == finding.ActionAlerted
	}
	if !alerted {
		t.Errorf("detect mode: no alerted 949 event: %+v", detect.got())
	}
}

func TestResponsePhaseBlocks(t *testing.T) {
	h := start(t, waf.Config{}, proxy.DefaultLimits)
	resp, body := get(t, h.addr, "/leak")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "mysql") {
		t.Fatalf("leaking response: %d %q", resp.StatusCode, body)
	}
}

func TestTestModeHeader(t *testing.T) {
	h := start(t, waf.Config{TestMode: true, Mode: waf.ModeDetect}, proxy.DefaultLimits)
	resp, _ := get(t, h.addr, "/?a=/etc/passwd")
	ids := resp.Header.Get(proxy.HeaderRules)
	if resp.StatusCode != 200 || !strings.Contains(ids, "930120") || !strings.Contains(ids, "949110") {
		t.Errorf("test mode: %d, rules %q", resp.StatusCode, ids)
	}
	resp, _ = get(t, h.addr, "/plain")
	if v, ok := resp.Header[http.CanonicalHeaderKey(proxy.HeaderRules)]; !ok || len(v) != 1 || v[0] != "" {
		t.Errorf("benign request in test mode: header %v, want present and empty", v)
	}
}

func raw(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadInput(t *testing.T) {
	h := start(t, waf.Config{RequestBodyLimit: 64 << 10}, proxy.Limits{
		ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 2 * time.Second, IdleTimeout: time.Second, MaxHeaderBytes: 8 << 10})
	post := func(ctype string, body []byte, extra ...string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.addr+"/upload", bytes.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("User-Agent", "kordon-test")
		req.Header.Set("Accept", "*/*")
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("oversized body", func(t *testing.T) {
		if got := post("application/x-www-form-urlencoded", append([]byte("a="), bytes.Repeat([]byte("a"), 64<<10-1)...)); got != http.StatusRequestEntityTooLarge {
			t.Errorf("body one byte over the limit: %d, want 413", got)
		}
		if got := post("application/x-www-form-urlencoded", append([]byte("a="), bytes.Repeat([]byte("a"), 64<<10-2)...)); got != 200 {
			t.Errorf("body at the limit: %d, want 200; events %+v", got, h.got())
		}
	})
	t.Run("oversized headers", func(t *testing.T) {
		st, _ := raw(t, h.addr, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 16<<10)+"\r\n\r\n")
		if st != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("16 KiB header: %d, want 431", st)
		}
	})
	t.Run("malformed multipart", func(t *testing.T) {
		body := "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b\r\nbroken"
		if got := post("multipart/form-data; boundary=b", []byte(body)); got < 400 || got > 499 {
			t.Errorf("unterminated multipart: %d, want 4xx", got)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		if got := post("application/json", []byte(`{"a": [1, 2`)); got != http.StatusBadRequest {
			t.Errorf("broken JSON: %d, want 400", got)
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		st, _ := raw(t, h.addr, "GET /?q=%C0%AF%FF%FE HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\nConnection: close\r\n\r\n")
		if st != 200 && st != 403 {
			t.Errorf("invalid UTF-8 in the query: %d, want an answer (200 or 403)", st)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(make([]byte, 50<<20))
		_ = zw.Close()
		// 50 MiB of zeros compress to ~50 KiB: under the body limit. The
		// WAF never inflates request bodies, so memory stays bounded.
		got := post("application/octet-stream", buf.Bytes(), "Content-Encoding", "gzip")
		if got != 200 && got != 403 {
			t.Errorf("gzip bomb: %d", got)
		}
	})
	t.Run("request smuggling", func(t *testing.T) {
		before := len(h.up.seen())
		// CL.TE: both headers. net/http frames the request by
		// Transfer-Encoding (RFC 9112 6.3) and drops Content-Length; the
		// proxy forwards it re-framed, so the upstream parses exactly the
		// request the WAF inspected: an empty body, never "0\r\n\r\nGET".
		st, _ := raw(t, h.addr, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		if st == 0 {
			t.Errorf("CL.TE: no answer")
		}
		h.up.mu.Lock()
		for i, p := range h.up.paths {
			if p == "/a" && h.up.bodies[i] != "" {
				t.Errorf("CL.TE: upstream got body %q for /a, want the chunked framing (empty)", h.up.bodies[i])
			}
		}
		h.up.mu.Unlock()
		// TE.CL with an obfuscated Transfer-Encoding.
		st, _ = raw(t, h.addr, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n5c\r\nGET /smuggled HTTP/1.1\r\n\r\n0\r\n\r\n")
		if st < 400 || st > 599 {
			t.Errorf("TE.CL obfuscated: %d, want 4xx/5xx", st)
		}
		_ = before
	})
	t.Run("slowloris", func(t *testing.T) {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c) // the server closes the connection
		if err != nil || time.Since(start) > 4*time.Second {
			t.Errorf("slow headers: connection not closed by the server (%v after %s)", err, time.Since(start))
		}
	})
	// Still up.
	if resp, _ := get(t, h.addr, "/after"); resp.StatusCode != 200 {
		t.Errorf("after bad input: %d", resp.StatusCode)
	}
}
