package generate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// flowLines is an io.Reader of n flows in Kordon's JSON-lines format,
// made as they are read: 50 workloads talking to each other and to 2,000
// outside addresses on 40 ports, and one flow in ten between two addresses
// no workload has.
type flowLines struct {
	n, i int
	buf  []byte
}

func (r *flowLines) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		i := r.i
		r.i++
		src := fmt.Sprintf("shop/web-%d", i%50)
		dst := fmt.Sprintf("shop/web-%d", (i*7+3)%50)
		switch {
		case i%10 == 0:
			src, dst = fmt.Sprintf("10.9.%d.%d", i%200, i%250), fmt.Sprintf("10.8.%d.%d", i%100, i%240)
		case i%3 == 0:
			dst = fmt.Sprintf("198.18.%d.%d", (i/250)%8, i%250)
		}
		r.buf = fmt.Appendf(r.buf, `{"src": %q, "dst": %q, "port": %d}`+"\n", src, dst, 8000+i%40)
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

func streamCluster() *model.Cluster {
	c := &model.Cluster{}
	for i := range 50 {
		c.Workloads = append(c.Workloads, model.Workload{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), Kind: "Deployment",
			Labels: map[string]string{"app": fmt.Sprintf("web-%d", i)}})
	}
	c.Normalize()
	return c
}

// stream reads the flows with a flow.Reader into a Generator, calling
// every each flows.
func stream(r io.Reader, every int, each func()) (*Result, error) {
	g := New(streamCluster(), Options{Ingress: true, Egress: true, MaxUnmatched: 0.5})
	fr := flow.NewReader(r, "flows.jsonl")
	for n := 1; ; n++ {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		g.Observe(f)
		if each != nil && n%every == 0 {
			each()
		}
	}
	return g.Result()
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStreamingMemoryIsBounded reads 100,000 flows through a flow.Reader
// into a Generator and checks that the live heap hardly grows after the
// first 10,000 flows (by less than 21 bytes a flow): what is kept grows
// with the distinct workloads, addresses and ports, not with the flows.
func TestStreamingMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100,000 flows")
	}
	var first, peak uint64
	n := 0
	res, err := stream(&flowLines{n: 100_000}, 10_000, func() {
		h := liveHeap()
		if n++; n == 1 {
			first = h
		}
		peak = max(peak, h)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 100_000 || res.Unmatched != 10_000 || res.Flows != 90_000 {
		t.Errorf("read %d, unmatched %d, used %d; want 100000, 10000, 90000", res.Read, res.Unmatched, res.Flows)
	}
	if grown := int64(peak) - int64(first); grown > 90_000*21 {
		t.Errorf("the live heap grew by %d KiB between 10,000 and 100,000 flows, want under 1.8 MiB", grown>>10)
	}
	t.Logf("live heap: %d KiB after 10,000 flows, at most %d KiB after", first>>10, peak>>10)
}

// BenchmarkGenerate1M writes a file of 1,000,000 flows (about 60 MB) and
// generates policies from it, reporting flows per second and the largest
// live heap (live-MB), which stays that of a few thousand flows.
func BenchmarkGenerate1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "flows.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	size, err := io.Copy(f, &flowLines{n: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.SetBytes(size)
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() { // the largest heap the last GC found live
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := stream(in, 0, nil)
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		if res.Read != 1_000_000 {
			b.Fatalf("read %d flows", res.Read)
		}
	}
	close(done)
	b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "flows/s")
	mu.Lock()
	b.ReportMetric(float64(peak)/(1<<20), "live-MB")
	mu.Unlock()
}
