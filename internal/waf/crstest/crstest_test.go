package crstest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	// No inspection bound in practice: CRS expects every test fully
	// inspected (920390-1, a 64 KB argument at PL4, takes seconds).
	e, err := waf.New(waf.Config{Mode: waf.ModeDetect, TestMode: true, InspectTimeout: 10 * time.Minute})
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
	// The first test of each file whose requests are small: CRS at PL4
	// spends seconds (over a minute under -race on a loaded machine) on
	// 920390-1's 64 KB argument, which make crs-regression runs.
	pick := map[string]int{}
	var sample []Test
	for _, tc := range tests {
		i, seen := pick[tc.File]
		switch {
		case !seen:
			pick[tc.File] = len(sample)
			sample = append(sample, tc)
		case requestBytes(sample[i]) > sampleMaxBytes && requestBytes(tc) <= sampleMaxBytes:
			t.Logf("sample: %s instead of %s (%d request bytes; make crs-regression runs it)", tc.ID, sample[i].ID, requestBytes(sample[i]))
			sample[i] = tc
		}
	}
	sample = slices.DeleteFunc(sample, func(tc Test) bool {
		if n := requestBytes(tc); n > sampleMaxBytes {
			t.Logf("sample: %s left out (%d request bytes, no smaller test in %s; make crs-regression runs it)", tc.ID, n, tc.File)
			return true
		}
		return false
	})
	if len(sample) < 290 {
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

// sampleMaxBytes is the largest request a sample test sends when its file
// has a smaller test.
const sampleMaxBytes = 16 << 10

func requestBytes(tc Test) int {
	n := 0
	for _, st := range tc.Stages {
		in := st.Input
		n += len(in.EncodedRequest)
		if in.URI != nil {
			n += len(*in.URI)
		}
		if in.Data != nil {
			n += len(*in.Data)
		}
	}
	return n
}
