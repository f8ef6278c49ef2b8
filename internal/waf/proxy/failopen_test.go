package proxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

// failingStage is a request-inspection stage that fails on /boom, the way
// a broken schema validator would.
type failingStage struct{}

func (failingStage) Name() string { return "failing" }

func (failingStage) Inspect(_ context.Context, r *waf.Request, _ io.Reader) (waf.StageResult, error) {
	if r.URI == "/boom" {
		return waf.StageResult{}, errors.New("validator crashed")
	}
	return waf.StageResult{}, nil
}

// TestFailOpenAndClosed checks both failure policies on an engine failure:
// fail-closed answers 503, fail-open forwards; both emit KOR-WAF-003.
func TestFailOpenAndClosed(t *testing.T) {
	e, err := waf.New(waf.Config{}, failingStage{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	up := &recorder{}
	upAddr := listen(t, up, proxy.DefaultLimits)
	for _, tc := range []struct {
		failOpen bool
		status   int
		action   string
	}{{false, http.StatusServiceUnavailable, finding.ActionBlocked}, {true, http.StatusOK, finding.ActionAllowed}} {
		var mu sync.Mutex
		var evs []finding.Event
		p, err := proxy.New(e, proxy.Options{Upstream: &url.URL{Scheme: "http", Host: upAddr}, Catalogue: cat, FailOpen: tc.failOpen,
			Events: func(ev finding.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		addr := listen(t, p, proxy.DefaultLimits)
		before := len(up.seen())
		resp, _ := get(t, addr, "/boom")
		if resp.StatusCode != tc.status {
			t.Errorf("fail-open %v: %d, want %d", tc.failOpen, resp.StatusCode, tc.status)
		}
		if forwarded := len(up.seen()) > before; forwarded != tc.failOpen {
			t.Errorf("fail-open %v: forwarded %v", tc.failOpen, forwarded)
		}
		mu.Lock()
		if len(evs) != 1 || evs[0].RuleID != waf.CheckEngineFailure || evs[0].Action != tc.action {
			t.Errorf("fail-open %v: events %+v", tc.failOpen, evs)
		}
		mu.Unlock()
		if resp, _ := get(t, addr, "/fine"); resp.StatusCode != 200 {
			t.Errorf("fail-open %v: a request the stage passes got %d", tc.failOpen, resp.StatusCode)
		}
	}
}

// TestInspectionBoundThroughProxy checks a request the engine cannot
// inspect within its bound: refused with 503 (fail closed) or forwarded
// (fail open), with a KOR-WAF-003 event saying it was not fully inspected.
func TestInspectionBoundThroughProxy(t *testing.T) {
	e, err := waf.New(waf.Config{Paranoia: 4, InspectTimeout: time.Millisecond, MaxOverdue: 100})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	up := &recorder{}
	upAddr := listen(t, up, proxy.DefaultLimits)
	target := "/search?q=" + strings.Repeat("x", 8<<10) // tens of ms of CRS at PL4
	for _, tc := range []struct {
		failOpen bool
		status   int
		action   string
	}{{false, http.StatusServiceUnavailable, finding.ActionBlocked}, {true, http.StatusOK, finding.ActionAllowed}} {
		var mu sync.Mutex
		var evs []finding.Event
		p, err := proxy.New(e, proxy.Options{Upstream: &url.URL{Scheme: "http", Host: upAddr}, Catalogue: cat, FailOpen: tc.failOpen,
			Events: func(ev finding.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		addr := listen(t, p, proxy.DefaultLimits)
		before := len(up.seen())
		resp, _ := get(t, addr, target)
		if resp.StatusCode != tc.status {
			t.Errorf("fail-open %v: %d, want %d", tc.failOpen, resp.StatusCode, tc.status)
		}
		if forwarded := len(up.seen()) > before; forwarded != tc.failOpen {
			t.Errorf("fail-open %v: forwarded %v", tc.failOpen, forwarded)
		}
		mu.Lock()
		if len(evs) != 1 || evs[0].RuleID != waf.CheckEngineFailure || evs[0].Action != tc.action ||
			!strings.Contains(evs[0].Message, "not fully inspected") {
			t.Errorf("fail-open %v: events %+v", tc.failOpen, evs)
		}
		mu.Unlock()
	}
}
