package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Client posts reviews to one webhook URL.
type Client struct {
	url     string
	http    *http.Client
	reviews [][]byte
	next    atomic.Uint64
}

// NewClient returns a client for url that trusts tlsConfig's roots. With
// http2 it multiplexes requests over few connections as the API server
// does; without, it uses up to 64 HTTP/1.1 connections.
func NewClient(url string, tlsConfig *tls.Config, reviews [][]byte, http2 bool) *Client {
	tr := &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: http2, MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	return &Client{url: url, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}, reviews: reviews}
}

// post sends the next review and returns whether it got a 200 answer.
func (c *Client) post(ctx context.Context) bool {
	body := c.reviews[int(c.next.Add(1)-1)%len(c.reviews)]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Result is one load step.
type Result struct {
	// Mode is "rate" (open loop at Target requests per second) or
	// "concurrency" (closed loop with Target requests in flight).
	Mode   string
	Target int
	// Requests answered, Errors among them (transport errors or non-200).
	Requests, Errors int
	// Throughput in requests per second.
	Throughput         float64
	P50, P90, P99, Max time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%-11s %6d  %8d req  %8.0f req/s  p50 %7s  p90 %7s  p99 %7s  max %7s  errors %d",
		r.Mode, r.Target, r.Requests, r.Throughput, round(r.P50), round(r.P90), round(r.P99), round(r.Max), r.Errors)
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// Rate sends rps requests per second for d (open loop): request i is due
// at start+i/rps and its latency counts from then, so queueing in the
// client or server shows. workers bounds requests in flight.
func (c *Client) Rate(ctx context.Context, rps int, d time.Duration, workers int) Result {
	total := int(float64(rps) * d.Seconds())
	due := make(chan time.Time, workers)
	lat := make([]time.Duration, total)
	var errs atomic.Int64
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range due {
				ok := c.post(ctx)
				i := n.Add(1) - 1
				lat[i] = time.Since(at)
				if !ok {
					errs.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(rps)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	return summarize("rate", rps, lat[:n.Load()], int(errs.Load()), elapsed)
}

// Concurrency keeps conc requests in flight for d (closed loop).
func (c *Client) Concurrency(ctx context.Context, conc int, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t := time.Now()
				ok := c.post(context.WithoutCancel(ctx))
				mine = append(mine, time.Since(t))
				if !ok {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize("concurrency", conc, lat, errs, time.Since(start))
}

func summarize(mode string, target int, lat []time.Duration, errs int, elapsed time.Duration) Result {
	r := Result{Mode: mode, Target: target, Requests: len(lat), Errors: errs}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	r.Throughput = float64(len(lat)) / elapsed.Seconds()
	return r
}
