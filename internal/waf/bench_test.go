package waf

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEngine runs requests of a few shapes through all five phases
// of the engine (no network): without the speed settings and the rule
// screen (baseline), with the settings but without the screen (noscreen),
// with both (optimised), and with waf serve's garbage collector setting
// too (gogc400), in the same run: compare them, not the absolute figures,
// on a loaded machine.
func BenchmarkEngine(b *testing.B) {
	for _, shape := range benchShapes() {
		for _, variant := range []struct {
			name      string
			baseline  bool
			noScreen  bool
			gcPercent int
		}{{"baseline", true, true, 100}, {"noscreen", false, true, 100}, {"optimised", false, false, 100}, {"optimised-gogc400", false, false, DefaultGCPercent}} {
			b.Run(shape.name+"/"+variant.name, func(b *testing.B) {
				// A loaded machine may stall a request for seconds: no
				// inspection bound in practice.
				cfg := Config{InspectTimeout: 10 * time.Minute}
				cfg.baseline, cfg.NoScreen = variant.baseline, variant.noScreen
				e, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer debug.SetGCPercent(debug.SetGCPercent(variant.gcPercent))
				runtime.GC()
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					runShape(b, e, shape)
				}
				// The process's CPU time, the garbage collector's
				// included: on a loaded machine a steadier figure than
				// ns/op.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchShape struct {
	// fresh: every request carries a new argument value and session
	// cookie, so the screen cannot reuse verdicts on them.
	fresh                   bool
	name, method, uri, body string
	header                  http.Header
	respType, respBody      string
}

func benchShapes() []benchShape {
	browser := func(extra ...string) http.Header {
		h := http.Header{
			"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
			"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			"Accept-Language": {"en-GB,en;q=0.9"},
			"Cookie":          {"session=3f2a9c1e; theme=dark"},
		}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	return []benchShape{
		{name: "benign-get", method: "GET", uri: "/products/42?page=2&sort=price", header: browser(),
			respType: "application/json", respBody: `{"id":42,"name":"tea"}`},
		{name: "benign-get-fresh", fresh: true, method: "GET", uri: "/products/42?page=2&sort=price", header: browser(),
			respType: "application/json", respBody: `{"id":42,"name":"tea"}`},
		{name: "benign-post-json", method: "POST", uri: "/api/orders",
			header:   browser("Content-Type", "application/json"),
			body:     `{"items":[{"sku":"TEA-001","qty":2},{"sku":"CUP-17","qty":1}],"note":"leave at the door","coupon":"WINTER25"}`,
			respType: "application/json", respBody: `{"order":"a81f","status":"accepted"}`},
		{name: "benign-html", method: "GET", uri: "/blog/2026/12/winter-teas.html", header: browser(),
			respType: "text/html", respBody: "<!doctype html><html><head><title>Winter teas</title></head><body>" + strings.Repeat("<p>Black tea, green tea and rooibos for the cold months.</p>", 40) + "</body></html>"},
		{name: "attack-sqli", method: "GET", uri: "/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", header: browser(),
			respType: "application/json", respBody: `{}`},
	}
}

// freshN numbers the requests of fresh shapes.
var freshN atomic.Int64

func runShape(b *testing.B, e *Engine, s benchShape) {
	uri, header := s.uri, s.header
	if s.fresh {
		n := freshN.Add(1)
		uri = fmt.Sprintf("%s&q=%x", uri, n*2654435761)
		header = header.Clone()
		header.Set("Cookie", fmt.Sprintf("session=%x; theme=dark", n*40503))
	}
	tx := e.Begin(&Request{Method: s.method, URI: uri, Proto: "HTTP/1.1", Host: "shop.example", Header: header, ClientAddr: "10.0.0.1", ClientPort: 5555})
	if blk, err := tx.RequestHeaders(b.Context()); err != nil {
		b.Fatal(err)
	} else if blk == nil {
		var body *strings.Reader
		if s.body != "" {
			body = strings.NewReader(s.body)
		}
		if body != nil {
			_, _, err = tx.RequestBody(b.Context(), body)
		} else {
			_, _, err = tx.RequestBody(b.Context(), nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		if tx.Blocked() == nil {
			tx.ResponseHeaders(200, "HTTP/1.1", http.Header{"Content-Type": {s.respType}})
			var rb []byte
			if tx.InspectsResponseBody() {
				rb = []byte(s.respBody)
			}
			if _, err := tx.ResponseBody(b.Context(), rb); err != nil {
				b.Fatal(err)
			}
		}
	}
	tx.Finish()
}
