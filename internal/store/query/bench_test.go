package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// benchSpan is the time the benchmark's records cover: 30 days, so that a
// day holds a thirtieth of them.
const benchSpan = 30 * 24 * time.Hour

// benchStore opens the benchmark database: $KORDON_BENCH_RECORDS records
// (default 200,000; `make bench-store` uses 10 million) spread over 30
// days from t0, built once and kept at $KORDON_BENCH_DB when set.
func benchStore(b *testing.B) (*sqlite.Store, int) {
	b.Helper()
	n := 200000
	if s := os.Getenv("KORDON_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("KORDON_BENCH_RECORDS=%q: want a positive number", s)
		}
		n = v
	}
	path := os.Getenv("KORDON_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	stats, err := st.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if stats.Records == int64(n) {
		return st, n
	}
	if stats.Records > int64(n) && stats.Records < int64(n)+int64(n)/10 {
		// BenchmarkIngestAtScale adds records to the last day.
		b.Logf("%s holds %d records: %d and some added by BenchmarkIngestAtScale", path, stats.Records, n)
		return st, n
	}
	if stats.Records != 0 {
		b.Fatalf("%s holds %d records, not %d: remove it", path, stats.Records, n)
	}
	start := time.Now()
	g := storetest.New(42, t0, benchSpan/time.Duration(n), 200)
	// The ingest rate is logged for each tenth of the build: the last
	// tenth is the rate of ingest into a database already holding 90% of
	// the records (generating them is not timed).
	seg, segStart, segN := n/10, time.Now(), 0
	var segGen time.Duration
	for done := 0; done < n; {
		k := min(20000, n-done)
		gs := time.Now()
		batch := g.Batch(k)
		segGen += time.Since(gs)
		if err := st.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		done += k
		segN += k
		if segN >= seg || done == n {
			el := time.Since(segStart) - segGen
			b.Logf("ingest at %d..%d records: %.0f records/s", done-segN, done, float64(segN)/el.Seconds())
			segStart, segN, segGen = time.Now(), 0, 0
		}
	}
	b.Logf("built %d records in %s (%.0f records/s)", n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
	return st, n
}

// BenchmarkQuery runs typical console queries over one day of a store of
// 30 days of records, and two over the whole store.
func BenchmarkQuery(b *testing.B) {
	st, n := benchStore(b)
	env, err := NewEnv()
	if err != nil {
		b.Fatal(err)
	}
	day := t0.Add(17 * 24 * time.Hour)
	cases := []struct {
		name string
		spec Spec
	}{
		{"day/namespace-count", Spec{Filter: `resource.namespace == "ns-3"`, From: day, To: day.Add(24 * time.Hour), Count: true}},
		{"day/denied-high-by-rule", Spec{Filter: `engine == "admission" && action == "denied" && severityRank >= 3`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"ruleID"}}},
		{"day/rule-by-namespace", Spec{Filter: `ruleID == "KOR-INTEL-001"`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"resource.namespace"}}},
		{"day/by-engine-action", Spec{From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"engine", "action"}}},
		{"half-day/by-engine-action", Spec{From: day, To: day.Add(12 * time.Hour), GroupBy: []string{"engine", "action"}}},
		{"day/by-namespace", Spec{From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"resource.namespace"}}},
		{"day/latest-100-waf", Spec{Filter: `engine == "waf" && resource.namespace == "ns-0"`, From: day, To: day.Add(24 * time.Hour), Limit: 100}},
		{"hour/residual-dropped-by-port", Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, From: day, To: day.Add(time.Hour), GroupBy: []string{"attributes.dstPort"}}},
		{"day/residual-dropped-by-port", Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"attributes.dstPort"}}},
		{"all/rule-count", Spec{Filter: `ruleID == "KOR-RT-001"`, Count: true}},
		{"all/namespace-count", Spec{Filter: `resource.namespace == "ns-7"`, Count: true}},
	}
	for _, c := range cases {
		q, err := Compile(env, c.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/records=%d", c.name, n), func(b *testing.B) {
			var res *Result
			cpu0, runs := cpuTime(b), 0
			for b.Loop() {
				if res, err = q.Run(context.Background(), st); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			if res.Count == 0 {
				b.Fatal("matched nothing")
			}
			b.ReportMetric(float64(res.Count), "matched")
			// CPU time (user + system) a query, steadier than wall time on
			// a loaded machine.
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(runs), "cpu-ms/op")
		})
	}
}
