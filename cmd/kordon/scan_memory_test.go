package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// liveHeap is the live heap after a collection, as limitMemory reads it.
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestScanMemoryLimits checks the collector settings of a scan: a lower GC
// target while loading that is restored afterwards, and a memory limit of
// at least the live heap plus 128 MiB once the objects are loaded; and that
// GOGC and GOMEMLIMIT in the environment win.
func TestScanMemoryLimits(t *testing.T) {
	oldLimit := debug.SetMemoryLimit(-1)
	oldPercent := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldPercent) })

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	restore := collectOftenWhileLoading()
	if got := debug.SetGCPercent(-1); got != loadingGCPercent {
		t.Errorf("GC percent while loading = %d, want %d", got, loadingGCPercent)
	}
	debug.SetGCPercent(loadingGCPercent)
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after loading = %d, want 100 restored", got)
	}

	// A small live heap gets 128 MiB of headroom; a large one as much
	// headroom as it holds.
	for _, size := range []int{0, 256 << 20} {
		keep := make([]byte, size)
		live := liveHeap()
		limitMemory()
		limit := debug.SetMemoryLimit(-1)
		want := max(2*live, live+128<<20)
		if d := limit - want; d < -16<<20 || d > 16<<20 {
			t.Errorf("live heap %d MiB: memory limit = %d MiB, want about %d MiB", live>>20, limit>>20, want>>20)
		}
		runtime.KeepAlive(keep)
	}

	debug.SetMemoryLimit(oldLimit)
	t.Setenv("GOMEMLIMIT", "1GiB")
	limitMemory()
	if got := debug.SetMemoryLimit(-1); got != oldLimit {
		t.Errorf("with GOMEMLIMIT set the limit changed to %d", got)
	}
	t.Setenv("GOGC", "200")
	restore = collectOftenWhileLoading()
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("with GOGC set the GC percent changed to %d", got)
	}
	restore()
	debug.SetGCPercent(100)
}
