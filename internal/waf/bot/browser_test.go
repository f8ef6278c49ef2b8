package bot

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns Debian's chromium, which make test installs; the test
// is skipped, saying so, where it is missing.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("KORDON_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Skip("no chromium (apt-get install chromium; make test installs it): the challenge is not tested in a real browser")
	return ""
}

// TestChallengeInBrowser serves a page behind the challenge and opens it
// in headless Chromium: the page's script solves the challenge, sets the
// cookie and reloads, and the browser sees the page. A client without
// JavaScript (Go's) stays on the challenge.
func TestChallengeInBrowser(t *testing.T) {
	exe := chromium(t)
	g, err := New(Config{ChallengeRoutes: []string{"/"}, Difficulty: 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var passed int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		v := g.Judge(r, netip.MustParseAddr(host))
		if g.Respond(w, r, v, "req") {
			return
		}
		if r.URL.Path == "/" {
			passed++ // not /favicon.ico, which the browser asks for too
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>Shop</title><h1 id="welcome">Welcome to the shop</h1>`))
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || passed != 0 {
		t.Fatalf("a client without JavaScript: status %d, %d passed", resp.StatusCode, passed)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#welcome")); err != nil {
		t.Fatalf("the browser did not get past the challenge: %v", err)
	}
	heading, err := chromedp.Run(bctx, chromedp.Text("#welcome"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(heading, "Welcome") || passed != 1 {
		t.Errorf("heading %q after %d passed requests", heading, passed)
	}
}
