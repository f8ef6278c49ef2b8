package query

import (
	"syscall"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// BenchmarkIngestAtScale appends batches of 5,000 records to the
// benchmark database once it holds all its records (run it after
// BenchmarkQuery, which builds the database: it adds records to it), into
// the second half of its last day, as ingest continues on a full store.
// Besides records/s it reports the process's CPU time per record
// (user + system, from getrusage), which a loaded machine disturbs less
// than wall time.
func BenchmarkIngestAtScale(b *testing.B) {
	st, n := benchStore(b)
	g := storetest.New(43, t0.Add(benchSpan-12*time.Hour), time.Millisecond, 200)
	const batch = 5000
	recs := g.Batch(batch)
	cpu0 := cpuTime(b)
	var gen time.Duration
	done := 0
	for b.Loop() {
		b.StopTimer()
		gs := time.Now()
		for i := range recs {
			recs[i] = g.Next()
		}
		gen += time.Since(gs)
		b.StartTimer()
		if err := st.Append(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	// Generation is outside the timer but inside the CPU time: take its
	// wall time off (it runs on one core).
	cpu := cpuTime(b) - cpu0 - gen
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(done), "cpu-µs/record")
	b.Logf("appended %d records to a store of %d", done, n)
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
