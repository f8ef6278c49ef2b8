package console

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// benchFixture is the console over 100,000 findings (with 1 in 10 of the
// generated events beside them) and an inventory of 2,000 workloads.
func benchFixture(b *testing.B) (*fixture, *client) {
	b.Helper()
	fx := newFixtureSized(b, 100000, 10, 7000)
	b.Logf("%d workloads, %d policies", len(fx.Cluster.Workloads), len(fx.Cluster.Policies))
	return fx, login(b, fx.URL, viewerToken)
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
	fx, c := benchFixture(b)
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
		{"MapNamespaces", "/console/api/map"},
		{"MapNamespace", "/console/api/map?namespace=team-000"},
		{"Trace", "/console/api/trace?src=team-000/api-000&dst=team-001/web-001"},
	} {
		b.Run(p.name, func(b *testing.B) { benchGet(b, c, p.path) })
	}
}
