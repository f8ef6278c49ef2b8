package main

import (
	"runtime/debug"
	"testing"
)

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

	keep := make([]byte, 64<<20) // live heap the limit must be sized from
	limitMemory()
	limit := debug.SetMemoryLimit(-1)
	if limit < int64(len(keep))+128<<20 || limit > 1<<40 {
		t.Errorf("memory limit = %d, want at least live heap (%d) + 128 MiB", limit, len(keep))
	}
	if keep[len(keep)-1] != 0 {
		t.Fatal("unreachable")
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
