package trigger

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestBurstRunsOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := New(50*time.Millisecond, 0)
	l.MaxDelay = time.Hour
	var runs atomic.Int32
	ran := make(chan int32, 10)
	done := make(chan error)
	go func() {
		done <- l.Run(ctx, func(context.Context) error { ran <- runs.Add(1); return nil }, nil)
	}()
	if n := <-ran; n != 1 {
		t.Fatalf("first run is %d, want 1", n)
	}
	for range 100 {
		l.Poke()
	}
	if n := <-ran; n != 2 {
		t.Fatalf("run after burst is %d, want 2", n)
	}
	// A burst coalesces: no third run without a new poke.
	select {
	case n := <-ran:
		t.Fatalf("unexpected run %d after one burst", n)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func TestMaxDelayBoundsEndlessPokes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := New(time.Hour, 0) // the quiet period never comes
	l.MaxDelay = 50 * time.Millisecond
	ran := make(chan struct{}, 10)
	go func() { _ = l.Run(ctx, func(context.Context) error { ran <- struct{}{}; return nil }, nil) }()
	<-ran
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				l.Poke()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	<-ran // runs despite pokes that never stop
}

func TestErrorsGoToOnErrAndLoopContinues(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := New(time.Millisecond, 10*time.Millisecond)
	errs := make(chan error, 10)
	go func() {
		_ = l.Run(ctx, func(context.Context) error { return errors.New("boom") }, func(err error) {
			select {
			case errs <- err:
			default:
			}
		})
	}()
	for range 2 { // the first run and a periodic one
		if err := <-errs; err.Error() != "boom" {
			t.Fatalf("got %v", err)
		}
	}
}
