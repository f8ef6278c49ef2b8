package sqlite_test

import (
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// BenchmarkAppend measures ingest: batches of 5,000 realistic records
// (flows, admission, WAF, sensor, intel events and scan findings) appended
// to a database that grows through the run.
func BenchmarkAppend(b *testing.B) {
	s := open(b)
	g := storetest.New(1, t0, time.Millisecond, 200)
	const batch = 5000
	recs := g.Batch(batch)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		b.StopTimer()
		for i := range recs {
			recs[i] = g.Next()
		}
		b.StartTimer()
		if err := s.Append(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
