package hubble

import (
	"context"
	"syscall"
	"testing"
	"time"

	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/hubble/hubbletest"
	"github.com/kordon-dev/kordon/internal/store"
)

// benchFollow streams b.N generated flows (200 pods in 20 namespaces, a
// tenth to the world, one in fifty dropped) from a real gRPC server
// through the Follower into append, and reports flows per second.
func benchFollow(b *testing.B, appendFn func(ctx context.Context, recs []store.Record) error) {
	base := time.Now().UTC().Add(-time.Hour)
	hs := hubbletest.New(base)
	flows := make([]*flowpb.Flow, 10000)
	for i := range flows {
		flows[i] = hubbletest.GenFlow(base, i)
	}
	hs.Flood = func(i int) *flowpb.Flow { return flows[i%len(flows)] }
	hs.Limit = b.N
	_, addr := hubbletest.Serve(b, "127.0.0.1:0", hs)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	f, stop := follow(b, Options{Addr: addr, Append: appendFn, FlushInterval: 50 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Minute)
	for f.Stats().Flows+f.Stats().Duplicates < uint64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
	// The process's CPU time (server and client in this process) per flow,
	// steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1000, "cpu-µs/flow")
}

// BenchmarkFollow is gRPC, decoding, attribution and normalisation, with
// the store left out.
func BenchmarkFollow(b *testing.B) {
	benchFollow(b, func(context.Context, []store.Record) error { return nil })
}

// BenchmarkFollowIntoSQLite adds the store's ingest path: enrichment
// against a feed and the SQLite append.
func BenchmarkFollowIntoSQLite(b *testing.B) {
	ts := newTestStore(b)
	benchFollow(b, ts.api.Ingest)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
