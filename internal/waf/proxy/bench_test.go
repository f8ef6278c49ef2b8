package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

// BenchmarkEngineBenignGET is the engine alone (all five phases, no
// network) on a benign browser-like GET at paranoia level 1, with kordon
// waf serve's garbage collector setting.
func BenchmarkEngineBenignGET(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(waf.DefaultGCPercent))
	e := engine(b, waf.Config{})
	h := browserHeaders()
	b.ReportAllocs()
	for b.Loop() {
		tx := e.Begin(&waf.Request{Method: "GET", URI: "/products/42?page=2&sort=price", Proto: "HTTP/1.1", Host: "shop.example", Header: h, ClientAddr: "10.0.0.1", ClientPort: 5555})
		_, _ = tx.RequestHeaders(b.Context())
		_, _, _ = tx.RequestBody(b.Context(), nil)
		tx.ResponseHeaders(200, "HTTP/1.1", http.Header{"Content-Type": {"application/json"}})
		_, _ = tx.ResponseBody(b.Context(), nil)
		tx.Finish()
	}
}

func browserHeaders() http.Header {
	return http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Cookie":          {"session=3f2a9c1e; theme=dark"},
	}
}

// BenchmarkProxyOverhead sends benign GETs at a fixed rate (open loop) to
// an upstream directly and through the proxy, interleaved in the same
// run, and reports the latency percentiles of both and their differences
// (the proxy's overhead). Run with -benchtime=1x: each sub-benchmark is
// one paced run of a few seconds, whatever b.N is.
func BenchmarkProxyOverhead(b *testing.B) {
	// As kordon waf serve runs.
	defer debug.SetGCPercent(debug.SetGCPercent(waf.DefaultGCPercent))
	for _, rate := range []int{200, 1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			up := listen(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":42,"name":"tea"}`)
			}), proxy.DefaultLimits)
			// The proxy in front of the same upstream as the direct path.
			p := startProxyTo(b, up)
			tr := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			dur := 3 * time.Second
			direct, viaProxy, errs, first := pace(client, rate, dur, "http://"+up+"/products/42?page=2&sort=price", "http://"+p+"/products/42?page=2&sort=price")
			if errs > 0 {
				// Reported, not failed: on an overloaded machine the open
				// loop outruns the server and requests time out.
				b.Logf("%d failed requests (first: %v)", errs, first)
			}
			b.ReportMetric(float64(errs), "failed")
			d50, d99 := pct(direct, 50), pct(direct, 99)
			p50, p99 := pct(viaProxy, 50), pct(viaProxy, 99)
			b.ReportMetric(ms(d50), "direct-p50-ms")
			b.ReportMetric(ms(d99), "direct-p99-ms")
			b.ReportMetric(ms(p50), "proxy-p50-ms")
			b.ReportMetric(ms(p99), "proxy-p99-ms")
			b.ReportMetric(ms(p50-d50), "overhead-p50-ms")
			b.ReportMetric(ms(p99-d99), "overhead-p99-ms")
			b.ReportMetric(float64(len(direct)+len(viaProxy))/dur.Seconds(), "req/s")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// pace issues rate requests per second for dur, alternating between the
// two URLs, each on its own goroutine (open loop: a slow answer does not
// slow the sender), and returns the latencies of each.
func pace(c *http.Client, rate int, dur time.Duration, direct, viaProxy string) (d, p []time.Duration, errs int, first error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	n := int(dur / interval)
	begin := time.Now()
	for i := range n {
		if wait := time.Until(begin.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		url := direct
		if i%2 == 1 {
			url = viaProxy
		}
		wg.Add(1)
		go func(i int, url string) {
			defer wg.Done()
			// A new argument value and session cookie on every request,
			// as real traffic has: the WAF cannot reuse verdicts on them.
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s&q=%x", url, i*2654435761), nil)
			req.Host = "shop.example"
			req.Header = browserHeaders()
			req.Header.Set("Cookie", fmt.Sprintf("session=%x; theme=dark", i*40503))
			t0 := time.Now()
			resp, err := c.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			el := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("%s: status %d", url, resp.StatusCode)
			}
			if err != nil {
				errs++
				if first == nil {
					first = err
				}
				return
			}
			if i%2 == 1 {
				p = append(p, el)
			} else {
				d = append(d, el)
			}
		}(i, url)
	}
	wg.Wait()
	return d, p, errs, first
}
