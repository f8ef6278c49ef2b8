package admission

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"
)

// Limits bound the memory and CPU the webhook spends on reviews at once. A
// review holds its share from before its body is read until its
// evaluation ends; a review that finds no room within Wait is refused
// with HTTP 429 (the API server's failurePolicy then decides).
type Limits struct {
	// MaxConcurrent is how many reviews are read and evaluated at once;
	// default 2 × GOMAXPROCS, at least 4.
	MaxConcurrent int
	// MaxBytes is how many bytes of review bodies are held at once (a
	// body of unknown length counts as MaxReviewBytes); default
	// 2 × MaxReviewBytes. A decoded review takes several times its size
	// in memory (about 10× for typical objects, up to 20× for objects made
	// of many small values), so this bounds the heap.
	MaxBytes int64
	// Wait is how long a review waits for room; default 1s (never longer
	// than the review's budget).
	Wait time.Duration
}

// DefaultLimits returns the limits used where Options.Limits leaves a
// field zero.
func DefaultLimits() Limits {
	return Limits{MaxConcurrent: max(4, 2*runtime.GOMAXPROCS(0)), MaxBytes: 2 * MaxReviewBytes, Wait: time.Second}
}

// limiter admits reviews within Limits. It is safe for concurrent use.
type limiter struct {
	limits Limits
	count  *semaphore.Weighted
	bytes  *semaphore.Weighted
}

func newLimiter(l Limits) *limiter {
	d := DefaultLimits()
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.Wait <= 0 {
		l.Wait = d.Wait
	}
	return &limiter{limits: l, count: semaphore.NewWeighted(int64(l.MaxConcurrent)), bytes: semaphore.NewWeighted(l.MaxBytes)}
}

// acquire waits for room for a review of weight bytes and returns the
// function that gives it back. It fails when no room is found within Wait
// or before ctx ends.
func (l *limiter) acquire(ctx context.Context, weight int64) (release func(), err error) {
	weight = min(max(weight, 1), l.limits.MaxBytes)
	wctx, cancel := context.WithTimeout(ctx, l.limits.Wait)
	defer cancel()
	if err := l.count.Acquire(wctx, 1); err != nil {
		return nil, fmt.Errorf("%d reviews in flight, none finished within %s", l.limits.MaxConcurrent, l.limits.Wait)
	}
	if err := l.bytes.Acquire(wctx, weight); err != nil {
		l.count.Release(1)
		return nil, fmt.Errorf("no room for %d more bytes of reviews within %s (at most %d bytes in flight)", weight, l.limits.Wait, l.limits.MaxBytes)
	}
	return func() {
		l.bytes.Release(weight)
		l.count.Release(1)
	}, nil
}
