package postgres_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/postgres"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// backends opens a fresh store of each back end, so that every benchmark
// compares PostgreSQL with SQLite in the same run (the machine is shared:
// compare the ratio, not the absolute figures). $KORDON_BENCH_DIR puts
// both databases in one folder (make bench-postgres: /dev/shm, as the
// shared machine's disk is nearly full; both are then in memory).
func backends(b *testing.B) []struct {
	name string
	open func(b *testing.B) store.Store
} {
	return []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			dir, err := os.MkdirTemp(os.Getenv("KORDON_BENCH_DIR"), "kordon-bench-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(dir) })
			s, err := sqlite.Open(context.Background(), filepath.Join(dir, "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) store.Store {
			s, err := postgres.Open(context.Background(), server.Schema(b))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
}

// BenchmarkStoreIngest appends batches of 5,000 realistic records (the
// HTTP API's default batch) to a store that grows through the run.
func BenchmarkStoreIngest(b *testing.B) {
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			g := storetest.New(1, t0, time.Millisecond, 200)
			const batch = 5000
			recs := g.Batch(batch)
			b.ReportAllocs()
			n := 0
			cpu0 := cpuTime()
			for b.Loop() {
				b.StopTimer()
				for i := range recs {
					recs[i] = g.Next()
				}
				b.StartTimer()
				if err := s.Append(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
				n += batch
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

// cpuTime is the CPU time this process and the private PostgreSQL server
// have used: on a shared, loaded machine a steadier measure than the wall
// clock, and fair to a client-server database (its work happens in other
// processes). The measure's resolution is 10 ms.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return self + server.CPU()
}

// benchSpan is the time the benchmark's records cover, as in
// internal/store/query's benchmark: 30 days.
const benchSpan = 30 * 24 * time.Hour

func benchRecords(b *testing.B) int {
	n := 100000
	if s := os.Getenv("KORDON_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("KORDON_BENCH_RECORDS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

// build fills a store with n records over 30 days (the query benchmark's
// data, seed 42) in appends of 20,000 and logs the ingest rate.
func build(b *testing.B, name string, s store.Store, n int) {
	ctx := context.Background()
	start := time.Now()
	g := storetest.New(42, t0, benchSpan/time.Duration(n), 200)
	for done := 0; done < n; {
		k := min(20000, n-done)
		if err := s.Append(ctx, g.Batch(k)); err != nil {
			b.Fatal(err)
		}
		done += k
	}
	el := time.Since(start)
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	extra := ""
	if pg, ok := s.(*postgres.Store); ok {
		// Steady state: autovacuum has analysed the table and set its
		// visibility map (index-only counts).
		if err := pg.Vacuum(ctx); err != nil {
			b.Fatal(err)
		}
		disk, err := pg.DiskBytes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		extra = fmt.Sprintf(", %d MB on disk", disk>>20)
	}
	b.Logf("%s: built %d records in %s (%.0f records/s), %d MB estimated%s", name, n, el.Round(time.Second), float64(n)/el.Seconds(), st.Bytes>>20, extra)
}

// BenchmarkStoreQuery runs the query table of internal/store/query's
// BenchmarkQuery (docs/benchmarks.md) on both back ends over the same
// $KORDON_BENCH_RECORDS records (default 100,000; make bench-postgres
// uses 1 million).
func BenchmarkStoreQuery(b *testing.B) {
	n := benchRecords(b)
	env, err := query.NewEnv()
	if err != nil {
		b.Fatal(err)
	}
	day := t0.Add(17 * 24 * time.Hour)
	cases := []struct {
		name string
		spec query.Spec
	}{
		{"day/namespace-count", query.Spec{Filter: `resource.namespace == "ns-3"`, From: day, To: day.Add(24 * time.Hour), Count: true}},
		{"day/denied-high-by-rule", query.Spec{Filter: `engine == "admission" && action == "denied" && severityRank >= 3`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"ruleID"}}},
		{"day/rule-by-namespace", query.Spec{Filter: `ruleID == "KOR-INTEL-001"`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"resource.namespace"}}},
		{"day/by-engine-action", query.Spec{From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"engine", "action"}}},
		{"day/latest-100-waf", query.Spec{Filter: `engine == "waf" && resource.namespace == "ns-0"`, From: day, To: day.Add(24 * time.Hour), Limit: 100}},
		{"hour/residual-dropped-by-port", query.Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, From: day, To: day.Add(time.Hour), GroupBy: []string{"attributes.dstPort"}}},
		{"day/residual-dropped-by-port", query.Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"attributes.dstPort"}}},
		{"all/rule-count", query.Spec{Filter: `ruleID == "KOR-RT-001"`, Count: true}},
		{"all/namespace-count", query.Spec{Filter: `resource.namespace == "ns-7"`, Count: true}},
	}
	for _, be := range backends(b) {
		s := be.open(b)
		build(b, be.name, s, n)
		for _, c := range cases {
			q, err := query.Compile(env, c.spec)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%s/records=%d", be.name, c.name, n), func(b *testing.B) {
				var res *query.Result
				cpu0 := cpuTime()
				for b.Loop() {
					if res, err = q.Run(context.Background(), s); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
				if res.Count == 0 {
					b.Fatal("matched nothing")
				}
				b.ReportMetric(float64(res.Count), "matched")
			})
		}
		s.Close()
	}
}
