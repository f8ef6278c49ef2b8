package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console/exceptions"
	"github.com/kordon-dev/kordon/internal/store"
)

// benchFixture is the console over 100,000 findings (with 1 in 10 of the
// generated events beside them) and an inventory of 2,000 workloads.
func benchFixture(b *testing.B) (*fixture, *client, []genImage) {
	b.Helper()
	fx, images := heavyFixture(b)
	return fx, login(b, fx.URL, viewerToken), images
}

func benchGet(b *testing.B, c *client, path string) {
	b.Helper()
	if resp, err := c.Get(c.base + path); err == nil { // warm up (the overview's cache)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for b.Loop() {
		resp, err := c.Get(c.base + path)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
		b.SetBytes(n)
	}
}

// BenchmarkPages measures the page-data requests of every page over HTTP
// against 100,000 findings and a 2,000-workload map.
func BenchmarkPages(b *testing.B) {
	fx, c, images := benchFixture(b)
	// The index and overlay are rebuilt when older than 30 s: measured
	// here without their caches (cost of the first request), then cached.
	b.Run("ImagesIndex", func(b *testing.B) {
		for b.Loop() {
			if _, err := fx.Srv.buildImageIndex(context.Background(), testNow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FlowsOverlay", func(b *testing.B) {
		for b.Loop() {
			fx.Srv.flowCache.mu.Lock()
			fx.Srv.flowCache.ov = nil
			fx.Srv.flowCache.mu.Unlock()
			if _, err := fx.Srv.flows(context.Background(), fx.Srv.nmap.Load(), defaultFlowWindow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OverviewCompute", func(b *testing.B) {
		for b.Loop() {
			if _, err := fx.Srv.Overview(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range []struct{ name, path string }{
		{"OverviewCached", "/console/api/overview"},
		{"FindingsFirstPage", "/console/api/findings?limit=50"},
		{"FindingsFiltered", "/console/api/findings?limit=50&severity=critical&namespace=ns-3"},
		{"FindingsGroupByRule", "/console/api/findings?group=rule"},
		{"FindingsGroupByName", "/console/api/findings?group=name"},
		{"FindingsSearch", "/console/api/findings?limit=50&q=app-17"},
		{"EventsWAF", "/console/api/findings?type=event&engine=waf&limit=50"},
		{"MapNamespaces", "/console/api/map?flows=off"},
		{"MapNamespace", "/console/api/map?flows=off&namespace=team-000"},
		{"MapNamespacesFlows", "/console/api/map"},
		{"MapNamespaceFlows", "/console/api/map?namespace=team-000"},
		{"Trace", "/console/api/trace?src=team-000/api-000&dst=team-001/web-001"},
		{"Images", "/console/api/images"},
		{"ImageVulns", "/console/api/images/vulns?image=" + url.QueryEscape(images[0].ref)},
		{"FindingsExceptedOnly", "/console/api/findings?limit=50&excepted=only"},
	} {
		b.Run(p.name, func(b *testing.B) { benchGet(b, c, p.path) })
	}
	// One active exception (the busiest rule of ns-3): excepted=only reads
	// that rule's findings in ns-3 instead of every finding.
	groups, err := fx.Store.Count(context.Background(), store.Filter{Types: []store.Type{store.TypeFinding}, Namespaces: []string{"ns-3"}}, []store.Column{store.ColRuleID})
	if err != nil || len(groups) == 0 {
		b.Fatalf("groups %v %v", groups, err)
	}
	if _, err := fx.Exc.Create(context.Background(), exceptions.Exception{Rule: groups[0].Key[0], Namespace: "ns-3", Reason: "bench",
		Expires: testNow.AddDate(0, 0, 3).Format(time.DateOnly)}, "alice", testNow); err != nil {
		b.Fatal(err)
	}
	b.Run("FindingsExceptedOnlyOneException", func(b *testing.B) {
		benchGet(b, c, "/console/api/findings?limit=50&excepted=only")
	})
}
