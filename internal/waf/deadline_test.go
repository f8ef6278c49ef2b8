package waf

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowRequest is a request CRS takes tens of milliseconds of CPU over at
// paranoia level 4 (an 8 KB argument; 64 KB takes seconds), far above the
// 1 ms bound of the tests below.
func slowRequest() *Request {
	return &Request{Method: "GET", URI: "/search?q=" + strings.Repeat("x", 8<<10), Proto: "HTTP/1.1", Host: "shop.example",
		Header: http.Header{"User-Agent": {"kordon-test"}, "Accept": {"*/*"}}, ClientAddr: "10.0.0.1", ClientPort: 4000}
}

// inspectRequest runs the request phases and returns the first error.
func inspectRequest(e *Engine, r *Request) (*Decision, error) {
	tx := e.Begin(r)
	_, err := tx.RequestHeaders(context.Background())
	if err == nil {
		_, _, err = tx.RequestBody(context.Background(), nil)
	}
	return tx.Finish(), err
}

// TestInspectionBound checks that an inspection overrunning its bound
// returns ErrInspectionTimeout instead of waiting, that overrunning
// evaluations still running are counted and refuse new requests past
// MaxOverdue, and that they end and release their place.
func TestInspectionBound(t *testing.T) {
	e, err := New(Config{Paranoia: 4, InspectTimeout: time.Millisecond, MaxOverdue: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := inspectRequest(e, slowRequest())
	if !errors.Is(err, ErrInspectionTimeout) {
		t.Fatalf("an 8 KB argument at PL4 with a 1 ms bound: %v, want ErrInspectionTimeout", err)
	}
	if !strings.Contains(err.Error(), "phase") || len(d.Matches) != 0 {
		t.Errorf("error %q does not name the phase, or decision has CRS matches: %+v", err, d.Matches)
	}
	if n := e.overdue.Load(); n != 1 {
		t.Fatalf("%d overdue evaluations, want 1 (the abandoned one, which takes far longer than this check)", n)
	}
	if _, err := inspectRequest(e, slowRequest()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a request while MaxOverdue evaluations run: %v, want ErrOverloaded", err)
	}
	// The abandoned evaluation ends, closes its transaction and frees its
	// place; the poll bound is generous for a loaded machine under -race.
	for end := time.Now().Add(3 * time.Minute); e.overdue.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the abandoned evaluation never ended")
		}
	}
}

// TestInspectionBoundCancel checks that a cancelled request context
// abandons the evaluation the same way.
func TestInspectionBoundCancel(t *testing.T) {
	e, err := New(Config{Paranoia: 4, InspectTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tx := e.Begin(slowRequest())
	if _, err := tx.RequestHeaders(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if _, _, err := tx.RequestBody(context.Background(), nil); !errors.Is(err, ErrInspectionTimeout) {
		t.Fatalf("a phase after an abandoned one: %v", err)
	}
	tx.Finish()
}

// TestHostileShapesAreBounded sends request shapes that are expensive for
// CRS with a bound of 1 ms: each is either inspected or reported as not
// fully inspected, never waited for.
func TestHostileShapesAreBounded(t *testing.T) {
	e, err := New(Config{Paranoia: 4, InspectTimeout: time.Millisecond, MaxOverdue: 100})
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, 2000)
	for i := range many {
		many[i] = "a" + strings.Repeat("b", i%50) + "=" + strings.Repeat("'", i%7)
	}
	for name, r := range map[string]*Request{
		"64 KB argument":  {URI: "/?a=" + strings.Repeat("x", 64<<10)},
		"2,000 arguments": {URI: "/?" + strings.Join(many, "&")},
		"64 KB cookie":    {URI: "/", Header: http.Header{"Cookie": {"s=" + strings.Repeat("%27or%201", 8<<10)}}},
	} {
		r.Method, r.Proto, r.Host = "GET", "HTTP/1.1", "shop.example"
		if _, err := inspectRequest(e, r); !errors.Is(err, ErrInspectionTimeout) {
			t.Errorf("%s: %v, want ErrInspectionTimeout", name, err)
		}
	}
}
