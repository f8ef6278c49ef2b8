package console

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kordon-dev/kordon/internal/netpol/model"
)

var pageTimes = flag.Bool("page-times", false, "TestBrowserPageTimes: measure in chromium how long each page takes to show its data over 100,000 findings and a 2,000-workload map (about 2 minutes)")

// TestBrowserPageTimes loads each page afresh in headless chromium (the
// bundle, the session, the page's data) and reports the time from the
// navigation's start to the page's data on screen (Performance API). It
// asserts no timing: the figures go to docs/benchmarks.md.
//
//	go test ./internal/console/ -run TestBrowserPageTimes -page-times -v
func TestBrowserPageTimes(t *testing.T) {
	if !*pageTimes {
		t.Skip("run with -page-times (builds a 100,000-finding store first)")
	}
	b := newBrowser(t)
	start := time.Now()
	fx, images := heavyFixture(t)
	t.Logf("store built in %s", time.Since(start).Round(time.Second))
	if err := fx.Srv.Warm(context.Background()); err != nil { // as kordon server does at start-up
		t.Fatal(err)
	}
	b.run("log in", chromedp.Navigate(fx.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), viewerToken),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("severity-cards")))
	img := images[0].ref
	for _, p := range []struct{ name, hash, ready string }{
		{"overview", "#/overview", "#severity-cards"},
		{"findings, first page", "#/findings", "#findings-table tbody tr"},
		{"findings, critical in ns-3", "#/findings?severity=critical&namespace=ns-3", "#findings-table tbody tr"},
		{"findings grouped by rule", "#/findings?group=rule", "#groups-table tbody tr"},
		{"findings, search app-17", "#/findings?q=app-17", "#findings-table tbody tr"},
		{"vulnerable images", "#/images", "#images-table tbody tr"},
		{"one image's vulnerabilities", "#/images?image=" + url.QueryEscape(img), "#vulns-table tbody tr"},
		{"network map (namespaces, with flows; layout finished)", "#/network", "body:has(.graph[data-drawn]):has(#ns-table tbody tr)"},
		{"WAF events", "#/events?engine=waf", "#events-table tbody tr"},
		{"policy editor (first preview)", "#/editor", "#generated"},
		{"exceptions", "#/exceptions", "#exceptions-table"},
	} {
		for round := range 2 {
			// A fresh load: the bundle, the session, then the page's data.
			b.run(p.name, chromedp.Navigate("about:blank"), chromedp.Navigate(fx.URL+"/"+p.hash))
			ms := get(b, p.name, chromedp.Poll[float64](fmt.Sprintf(`(document.querySelector(%q) && performance.now()) || 0`, p.ready),
				chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(5*time.Millisecond)))
			t.Logf("page time | %s | round %d | %.0f ms", p.name, round+1, ms)
		}
	}
	// The namespaces level of the 2,000-workload map: every namespace
	// drawn, no two overlapping.
	b.run("network", chromedp.Navigate("about:blank"), chromedp.Navigate(fx.URL+"/#/network"), chromedp.WaitVisible(chromedp.CSS(`.graph[data-drawn]`)))
	checkNoOverlap(b, "namespaces level, 2,000 workloads", len(fx.Map.Namespaces().Nodes))
	b.page("network-2000-workloads")
	// The workloads of the busiest namespace, opened from the map.
	for round := range 2 {
		b.run("network", chromedp.Navigate("about:blank"), chromedp.Navigate(fx.URL+"/#/network"), chromedp.WaitVisible(chromedp.ID("ns-table")))
		get(b, "click", chromedp.Evaluate[bool](`window.__t0 = performance.now(); document.querySelector('#ns-table tbody tr button').click(); true`))
		ms := get(b, "namespace", chromedp.Poll[float64](`(document.querySelector('#wl-table tbody tr') && performance.now() - window.__t0) || 0`,
			chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(5*time.Millisecond)))
		t.Logf("page time | network map: open a namespace (click to workloads drawn) | round %d | %.0f ms", round+1, ms)
	}
}

// heavyFixture is the console over 100,000 findings (with 1 in 10 of the
// generated events beside them), an inventory of 2,000 workloads, the
// vulnerability findings of 300 images (two rescans) and 5 flows between
// every two of the first 6 workloads of each namespace.
func heavyFixture(tb testing.TB) (*fixture, []genImage) {
	tb.Helper()
	fx := newFixtureSized(tb, 100000, 10, 7000)
	images := genImages(300, 3)
	fillImages(tb, fx.Store, images, testNow.Add(-time.Hour))
	byNS := map[string][]*model.Workload{}
	for i := range fx.Cluster.Workloads {
		w := &fx.Cluster.Workloads[i]
		if len(byNS[w.Namespace]) < 6 {
			byNS[w.Namespace] = append(byNS[w.Namespace], w)
		}
	}
	var pairs [][2]*model.Workload
	for _, ws := range byNS {
		for _, a := range ws {
			for _, c := range ws {
				if a != c {
					pairs = append(pairs, [2]*model.Workload{a, c})
				}
			}
		}
	}
	if err := fx.Store.Append(context.Background(), flowEvents(pairs, 5)); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, im := range images {
		n += (2*len(im.vulns) + len(im.gone)) * len(im.workloads)
	}
	tb.Logf("%d workloads, %d policies, %d image findings, %d flows between workloads", len(fx.Cluster.Workloads), len(fx.Cluster.Policies), n, 5*len(pairs))
	return fx, images
}
