package crstest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

var (
	full   = flag.Bool("crs-full", false, "run every CRS regression test (make crs-regression)")
	report = flag.String("crs-report", "", "with -crs-full: write the failures and skips to this file")
)

// startProxy starts the echo upstream and a test-mode, detect-mode proxy
// in front of it, both on 127.0.0.1, and returns the proxy's address.
func startProxy(t *testing.T) string {
	t.Helper()
	up := serve(t, Upstream())
	e, err := waf.New(waf.Config{Mode: waf.ModeDetect, TestMode: true})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(e, proxy.Options{Upstream: &url.URL{Scheme: "http", Host: up}, Catalogue: cat})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, p)
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := proxy.NewServer("", h, proxy.DefaultLimits)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestCRSRegressionSample runs a fixed sample of CRS's regression tests
// (the first test of every rule's file, every rule family) through the
// proxy; every one must pass or be skipped with a reason.
func TestCRSRegressionSample(t *testing.T) {
	if *full {
		t.Skip("-crs-full runs TestCRSRegressionFull")
	}
	tests, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var sample []Test
	for _, tc := range tests {
		if !seen[tc.File] {
			seen[tc.File] = true
			sample = append(sample, tc)
		}
	}
	if len(sample) < 300 {
		t.Fatalf("sample of %d tests: the coreruleset module's tests were not found", len(sample))
	}
	skips, err := Skips()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, startProxy(t), sample, skips)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failed {
		t.Errorf("%s: %s", f.ID, f.Reason)
	}
	t.Logf("sample: %d passed, %d failed, %d skipped (pass rate %.2f%%)", len(res.Passed), len(res.Failed), len(res.Skipped), res.PassRate())
}

// TestCRSRegressionFull runs every test (make crs-regression) and
// reports the pass rate of the runnable ones; it fails under 99%.
func TestCRSRegressionFull(t *testing.T) {
	if !*full {
		t.Skip("run with -crs-full (make crs-regression)")
	}
	tests, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	skips, err := Skips()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, startProxy(t), tests, skips)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CRS regression: %d tests, %d run, %d passed, %d failed, %d skipped; pass rate %.2f%% of the runnable tests (%s)\n",
		len(tests), len(res.Passed)+len(res.Failed), len(res.Passed), len(res.Failed), len(res.Skipped), res.PassRate(), time.Since(start).Round(time.Second))
	for _, f := range res.Failed {
		fmt.Fprintf(&b, "FAIL %s: %s\n", f.ID, f.Reason)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "SKIP %s: %s\n", s.ID, s.Reason)
	}
	t.Log(b.String())
	if *report != "" {
		if err := os.WriteFile(*report, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if res.PassRate() < 99 {
		t.Errorf("pass rate %.2f%%, want at least 99%%", res.PassRate())
	}
}
