// Package trigger runs work on change and on a schedule: changes are
// debounced (a burst of them runs the work once, after a quiet period,
// and at the latest after a maximum delay) and coalesced with the
// periodic runs, so that at most one run is in progress at a time.
package trigger

import (
	"context"
	"time"
)

// Loop runs a function on start, when poked and every Interval. Poke is
// safe for concurrent use; Run must be called once.
type Loop struct {
	// Debounce is the quiet period after the last poke before a run.
	Debounce time.Duration
	// MaxDelay bounds the wait after the first poke of a burst; 0 means
	// 10 × Debounce.
	MaxDelay time.Duration
	// Interval runs the function periodically; 0 means only on pokes.
	Interval time.Duration

	pokes chan struct{}
}

// New returns a loop.
func New(debounce, interval time.Duration) *Loop {
	return &Loop{Debounce: debounce, Interval: interval, pokes: make(chan struct{}, 1)}
}

// Poke asks for a run; it never blocks.
func (l *Loop) Poke() {
	select {
	case l.pokes <- struct{}{}:
	default:
	}
}

// Run calls fn once at start, then on pokes and on the interval, until ctx
// is done; it returns ctx's error. fn's error is passed to onErr (which
// may be nil) and does not stop the loop.
func (l *Loop) Run(ctx context.Context, fn func(context.Context) error, onErr func(error)) error {
	maxDelay := l.MaxDelay
	if maxDelay <= 0 {
		maxDelay = 10 * l.Debounce
	}
	run := func() {
		if err := fn(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
	var tick <-chan time.Time
	if l.Interval > 0 {
		t := time.NewTicker(l.Interval)
		defer t.Stop()
		tick = t.C
	}
	run()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			run()
		case <-l.pokes:
			if !l.settle(ctx, maxDelay) {
				return ctx.Err()
			}
			run()
		}
	}
}

// settle waits until no poke came for Debounce, or maxDelay passed since
// the first poke. It returns false when ctx ended.
func (l *Loop) settle(ctx context.Context, maxDelay time.Duration) bool {
	deadline := time.NewTimer(maxDelay)
	defer deadline.Stop()
	quiet := time.NewTimer(l.Debounce)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-quiet.C:
			return true
		case <-l.pokes:
			quiet.Reset(l.Debounce)
		}
	}
}
