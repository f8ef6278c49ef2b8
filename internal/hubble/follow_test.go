package hubble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/flowlog"
	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/hubble/api/observer"
	"github.com/kordon-dev/kordon/internal/hubble/api/relay"
	"github.com/kordon-dev/kordon/internal/hubble/hubbletest"
	"github.com/kordon-dev/kordon/internal/intel"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

// testStore is a real SQLite store behind the HTTP API's ingest path,
// with threat-intelligence enrichment for 203.0.113.7.
type testStore struct {
	st  *sqlite.Store
	api *httpapi.API
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kordon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env, err := query.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	set := intel.NewSet()
	set.Add(intel.Indicator{Type: "ip", Value: "203.0.113.7", Feed: "test-feed", Severity: finding.High})
	en := intel.NewEnricher()
	en.Replace(set)
	return &testStore{st: st, api: httpapi.New(httpapi.Options{Store: st, Env: env, Enrich: en.Enrich})}
}

func (s *testStore) all(t testing.TB) []store.Record {
	t.Helper()
	var out []store.Record
	if err := s.st.Scan(context.Background(), store.Filter{}, 0, func(r *store.Record) error { out = append(out, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// follow starts a Follower of addr and returns it with a function that
// stops it and waits for Run to return (failing the test when it takes
// longer than 10 s).
func follow(t testing.TB, o Options) (*Follower, func()) {
	t.Helper()
	if o.Credentials == nil {
		o.Credentials = insecure.NewCredentials()
	}
	if o.Normalizer == nil {
		o.Normalizer = &flowlog.Normalizer{History: flowlog.NewHistory()}
	}
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	f, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return 10 s after its context ended")
		}
	}
	t.Cleanup(stop)
	return f, stop
}

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFlowsAttributedEnrichedAndStored(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	hs := hubbletest.New(base.Add(-time.Hour))
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	h := flowlog.NewHistory()
	// 10.0.3.3 was db-old's until base+10s, then db-new's.
	h.Add(netip.MustParseAddr("10.0.3.3"), flowlog.Pod{Namespace: "pay", Name: "db-old", Workload: "StatefulSet/db"}, base.Add(-time.Hour), base.Add(10*time.Second))
	h.Add(netip.MustParseAddr("10.0.3.3"), flowlog.Pod{Namespace: "pay", Name: "db-new", Workload: "StatefulSet/db"}, base.Add(11*time.Second), time.Time{})
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, Normalizer: &flowlog.Normalizer{History: h}, FlushInterval: 20 * time.Millisecond})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })

	named := hubbletest.TCPFlow("a", base, "10.0.1.5", "10.0.3.3", 5432)
	named.Source = &flowpb.Endpoint{Namespace: "shop", PodName: "web-1", Workloads: []*flowpb.Workload{{Name: "web", Kind: "Deployment"}}}
	old := hubbletest.TCPFlow("b", base.Add(5*time.Second), "10.0.1.6", "10.0.3.3", 5432)
	dropped := hubbletest.TCPFlow("c", base.Add(20*time.Second), "10.0.1.6", "10.0.3.3", 5432)
	dropped.Verdict = flowpb.Verdict_DROPPED
	reply := hubbletest.TCPFlow("d", base.Add(21*time.Second), "10.0.3.3", "10.0.1.6", 40000)
	reply.IsReply.Value = true
	icmp := hubbletest.TCPFlow("e", base.Add(22*time.Second), "10.0.1.6", "10.0.3.3", 0)
	icmp.L4 = nil
	bad := hubbletest.TCPFlow("f", time.Now().Add(72*time.Hour), "10.0.1.6", "10.0.3.3", 80)
	evil := hubbletest.TCPFlow("g", base.Add(23*time.Second), "10.0.1.5", "203.0.113.7", 443)
	later := hubbletest.TCPFlow("h", base.Add(24*time.Second), "10.0.1.5", "10.0.9.9", 8080) // 10.0.1.5 learnt from flow a
	hs.Add(named, old, dropped, reply, icmp, bad, evil, later)
	waitFor(t, "the flows", func() bool { return f.Stats().Flows == 5 })
	stop()

	got := f.Stats()
	if got.Skipped != 2 || got.Rejected != 1 || got.Duplicates != 0 || got.Lost != 0 {
		t.Errorf("stats %+v, want 2 skipped (reply, no port), 1 rejected (3 days ahead)", got)
	}
	recs := ts.all(t)
	var flows []finding.Event
	intelEvents := 0
	for _, r := range recs {
		switch r.Event.Engine {
		case "flow":
			flows = append(flows, r.Event)
		case "intel":
			intelEvents++
		}
	}
	if len(flows) != 5 || intelEvents != 1 {
		t.Fatalf("stored %d flows and %d intel events, want 5 and 1: %+v", len(flows), intelEvents, recs)
	}
	want := []struct{ src, dst, res, action string }{
		{"shop/web-1", "pay/db-old", "shop/web-1", finding.ActionObserved},
		{"", "pay/db-old", "pay/db-old", finding.ActionObserved}, // at base+5s the address was db-old's
		{"", "pay/db-new", "pay/db-new", finding.ActionDenied},   // at base+20s db-new's
		{"shop/web-1", "", "shop/web-1", finding.ActionObserved},
		{"shop/web-1", "", "shop/web-1", finding.ActionObserved},
	}
	for i, w := range want {
		e := flows[i]
		if e.Attributes["srcPod"] != w.src || e.Attributes["dstPod"] != w.dst || e.Resource.Namespace+"/"+e.Resource.Name != w.res || e.Action != w.action {
			t.Errorf("flow %d: %s %s attrs %v, want src %q dst %q resource %q %s", i, e.Action, e.Resource, e.Attributes, w.src, w.dst, w.res, w.action)
		}
		if e.Attributes["source"] != Source || e.Attributes["node"] != "node-1" {
			t.Errorf("flow %d: attributes %v", i, e.Attributes)
		}
	}
	if flows[2].Attributes["verdict"] != "DROPPED" || flows[0].Attributes["srcWorkload"] != "Deployment/web" {
		t.Errorf("verdict or workload: %v %v", flows[2].Attributes, flows[0].Attributes)
	}
	if flows[3].Attributes["intel.feed"] != "test-feed" {
		t.Errorf("the flow to 203.0.113.7 was not enriched: %v", flows[3].Attributes)
	}
	if !strings.Contains(flows[0].Message, "10.0.1.5 (shop/web-1) -> 10.0.3.3 (pay/db-old) port 5432/TCP FORWARDED") {
		t.Errorf("message %q", flows[0].Message)
	}
}

func TestResumeAfterReconnectNeitherDuplicatesNorLoses(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	hs := hubbletest.New(base.Add(-time.Hour))
	srv, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, FlushInterval: 10 * time.Millisecond, Overlap: 2 * time.Second})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })
	flow := func(i int) *flowpb.Flow {
		return hubbletest.TCPFlow("id-"+string(rune('a'+i)), base.Add(time.Duration(i)*time.Second), "10.0.1.5", "10.0.2.7", 80)
	}
	for i := range 5 {
		hs.Add(flow(i))
	}
	waitFor(t, "5 flows", func() bool { return f.Stats().Flows == 5 })

	// The connection breaks; the server keeps its buffer and gets flows
	// while Kordon is away.
	srv.Stop()
	hs.Add(flow(5), flow(6))
	hubbletest.Serve(t, addr, hs)
	waitFor(t, "7 flows", func() bool { return f.Stats().Flows == 7 })
	reqs := hs.Requests()
	if len(reqs) != 2 || !reqs[1].GetFollow() || !reqs[1].GetSince().AsTime().Equal(base.Add(2*time.Second)) {
		t.Fatalf("requests %v, want the second since the last flow (base+4s) minus the 2s overlap", reqs)
	}
	st := f.Stats()
	if st.Duplicates != 3 || st.Reconnects != 1 || st.Gaps != 0 {
		t.Errorf("stats %+v, want the 3 flows of the overlap dropped, 1 reconnect, no gap", st)
	}

	stop()
	recs := ts.all(t)
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.Event.Time.Format(time.RFC3339)]++
	}
	if len(recs) != 7 || len(seen) != 7 {
		t.Errorf("stored %d records at %d times, want 7 distinct flows", len(recs), len(seen))
	}
}

func TestServerRestartIsAGap(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	hs := hubbletest.New(base.Add(-time.Hour))
	srv, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, FlushInterval: 10 * time.Millisecond})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })
	hs.Add(hubbletest.TCPFlow("a", base, "10.0.1.5", "10.0.2.7", 80))
	waitFor(t, "the flow", func() bool { return f.Stats().Flows == 1 })

	// A new server process: started now, an empty buffer.
	srv.Stop()
	hs2 := hubbletest.New(time.Now())
	hubbletest.Serve(t, addr, hs2)
	waitFor(t, "the new stream", func() bool { return len(hs2.Requests()) == 1 })
	hs2.Add(hubbletest.TCPFlow("b", time.Now().UTC(), "10.0.1.5", "10.0.2.7", 80))
	waitFor(t, "the flow after the restart", func() bool { return f.Stats().Flows == 2 })
	stop()
	var gaps []finding.Event
	for _, r := range ts.all(t) {
		if r.Event.Attributes["gap"] != "" {
			gaps = append(gaps, r.Event)
		}
	}
	if len(gaps) != 1 || gaps[0].Attributes["gap"] != "server-restart" || gaps[0].Severity != finding.Low ||
		!strings.Contains(gaps[0].Message, "restarted at") || gaps[0].Attributes["lastFlow"] != base.Format(time.RFC3339Nano) {
		t.Fatalf("gap events %+v, want one server-restart after %s", gaps, base)
	}
	if st := f.Stats(); st.Gaps != 1 || st.Flows != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestLostEventsAreReported(t *testing.T) {
	hs := hubbletest.New(time.Now().Add(-time.Hour))
	now := time.Now().UTC()
	hs.Notices = []*observer.GetFlowsResponse{
		{ResponseTypes: &observer.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
			Source: flowpb.LostEventSource_HUBBLE_RING_BUFFER, NumEventsLost: 1234,
			First: timestamppb.New(now.Add(-time.Minute)), Last: timestamppb.New(now)}}, NodeName: "node-7"},
		{ResponseTypes: &observer.GetFlowsResponse_NodeStatus{NodeStatus: &relay.NodeStatusEvent{
			StateChange: relay.NodeState_NODE_UNAVAILABLE, NodeNames: []string{"node-8", "node-9"}}}},
		{ResponseTypes: &observer.GetFlowsResponse_NodeStatus{NodeStatus: &relay.NodeStatusEvent{
			StateChange: relay.NodeState_NODE_CONNECTED, NodeNames: []string{"node-1"}}}},
	}
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, FlushInterval: 10 * time.Millisecond})
	waitFor(t, "the notices", func() bool { return f.Stats().Gaps == 2 })
	stop()
	if st := f.Stats(); st.Lost != 1234 || st.Received != 3 {
		t.Errorf("stats %+v, want 1234 lost of 3 responses", st)
	}
	byKind := map[string]finding.Event{}
	for _, r := range ts.all(t) {
		byKind[r.Event.Attributes["gap"]] = r.Event
	}
	lost := byKind["lost-events"]
	if lost.Attributes["lost"] != "1234" || lost.Attributes["lostSource"] != "HUBBLE_RING_BUFFER" || lost.Attributes["node"] != "node-7" ||
		!lost.Time.Equal(now.Truncate(time.Microsecond)) && !lost.Time.Equal(now) {
		t.Errorf("lost-events gap %+v", lost)
	}
	if !strings.Contains(lost.Message, "Hubble lost 1234 events (HUBBLE_RING_BUFFER) on node node-7 between") {
		t.Errorf("message %q", lost.Message)
	}
	if n := byKind["nodes-unavailable"]; n.Attributes["nodes"] != "node-8,node-9" {
		t.Errorf("nodes-unavailable gap %+v", n)
	}
	if len(byKind) != 2 {
		t.Errorf("gap kinds %v, want lost-events and nodes-unavailable only", byKind)
	}
}

// TestFloodIsBackpressured: a server that sends flows without end to a
// store that does not return is made to wait: what is in flight stays
// bounded by the batch, the queue and gRPC's fixed window.
func TestFloodIsBackpressured(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour)
	hs := hubbletest.New(base)
	hs.Flood = func(i int) *flowpb.Flow { return hubbletest.GenFlow(base, i) }
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	release := make(chan struct{})
	var appended atomic.Int64
	block := func(ctx context.Context, recs []store.Record) error {
		appended.Add(int64(len(recs)))
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	f, stop := follow(t, Options{Addr: addr, Append: block, BatchSize: 500, FlushInterval: time.Hour})
	// Wait until the server cannot send more.
	last, still := int64(-1), 0
	waitFor(t, "the server to be held up", func() bool {
		time.Sleep(50 * time.Millisecond)
		n := hs.Sent.Load()
		if n == last && n > 0 {
			still++
		} else {
			still = 0
		}
		last = n
		return still >= 10
	})
	sent := hs.Sent.Load()
	// 500 in the batch being stored, 256 queued, and what fits in 1 MiB
	// of window on each side (a generated flow is about 150 bytes).
	const bound = 500 + 256 + 2*(1<<20)/100
	if sent > bound || appended.Load() != 500 {
		t.Errorf("the server sent %d flows while the store held up the first batch of %d; want at most %d in flight", sent, appended.Load(), bound)
	}
	t.Logf("held up after %d flows", sent)
	close(release)
	waitFor(t, "flows to move again", func() bool { return hs.Sent.Load() > sent+2000 })
	stop()
	if f.Stats().Flows < 500 {
		t.Errorf("stats %+v", f.Stats())
	}
}

// TestStopStoresWhatWasReceived: when the context ends (SIGTERM in the
// server), Run returns promptly and the flows it received are stored.
func TestStopStoresWhatWasReceived(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour)
	hs := hubbletest.New(base)
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, FlushInterval: time.Hour, BatchSize: 1000})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })
	for i := range 3 {
		hs.Add(hubbletest.GenFlow(base, i))
	}
	waitFor(t, "3 flows received", func() bool { return f.Stats().Received == 3 })
	if n := len(ts.all(t)); n != 0 {
		t.Fatalf("%d records stored before the batch was due", n)
	}
	start := time.Now()
	stop()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %s", d)
	}
	if n := len(ts.all(t)); n != 3 || f.Stats().Flows != 3 {
		t.Errorf("%d records stored after stop (stats %+v), want the 3 received", n, f.Stats())
	}
}

func TestUnreachableServerKeepsTrying(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest})
	waitFor(t, "reconnect attempts", func() bool { return f.Stats().Reconnects >= 3 })
	stop()
}

func TestOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		o    TLSOptions
		want string
	}{
		{TLSOptions{Plaintext: true, CAFile: "ca.pem"}, "plaintext with TLS options"},
		{TLSOptions{CertFile: "c.pem"}, "client certificate and key go together"},
		{TLSOptions{CAFile: "/nonexistent/ca.pem"}, "CA: open /nonexistent/ca.pem"},
		{TLSOptions{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}, "client certificate: open /nonexistent/c.pem"},
	} {
		if _, err := c.o.Credentials(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	if _, err := New(Options{Addr: "x:1"}); err == nil || !strings.Contains(err.Error(), "no transport credentials") {
		t.Errorf("New without credentials: %v", err)
	}
}

func TestCollectorReportsStats(t *testing.T) {
	hs := hubbletest.New(time.Now().Add(-time.Hour))
	hs.Notices = []*observer.GetFlowsResponse{{ResponseTypes: &observer.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
		Source: flowpb.LostEventSource_PERF_EVENT_RING_BUFFER, NumEventsLost: 7}}}}
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	f, stop := follow(t, Options{Addr: addr, Append: ts.api.Ingest, FlushInterval: 10 * time.Millisecond})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })
	hs.Add(hubbletest.TCPFlow("a", time.Now().UTC(), "10.0.1.5", "10.0.2.7", 80))
	waitFor(t, "the flow", func() bool { return f.Stats().Flows == 1 })
	stop()
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.Collector())
	want := `# HELP kordon_server_hubble_lost_total Flows Hubble reported lost (LostEvents).
# TYPE kordon_server_hubble_lost_total counter
kordon_server_hubble_lost_total{server="` + addr + `"} 7
# HELP kordon_server_hubble_flows_total Hubble flows stored as Flow events.
# TYPE kordon_server_hubble_flows_total counter
kordon_server_hubble_flows_total{server="` + addr + `"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kordon_server_hubble_lost_total", "kordon_server_hubble_flows_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 9 {
		t.Errorf("%d metrics (%v), want 9", n, err)
	}
}

// TestStoreErrorReadsTheBatchAgain: a batch the store refuses ends the
// stream, and the reconnect asks for its flows again, even before any
// flow was ever stored; none is lost or stored twice.
func TestStoreErrorReadsTheBatchAgain(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	hs := hubbletest.New(base.Add(-time.Hour))
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ts := newTestStore(t)
	var calls atomic.Int32
	flaky := func(ctx context.Context, recs []store.Record) error {
		if calls.Add(1) == 1 {
			return errors.New("database is locked")
		}
		return ts.api.Ingest(ctx, recs)
	}
	f, stop := follow(t, Options{Addr: addr, Append: flaky, FlushInterval: time.Hour, BatchSize: 3})
	waitFor(t, "the stream", func() bool { return len(hs.Requests()) == 1 })
	for i := range 6 {
		hs.Add(hubbletest.TCPFlow(fmt.Sprint("f", i), base.Add(time.Duration(i)*time.Second), "10.0.1.5", "10.0.2.7", 80))
	}
	waitFor(t, "6 flows stored", func() bool { return f.Stats().Flows == 6 })
	stop()
	reqs := hs.Requests()
	if st := f.Stats(); st.StoreErrors != 1 || st.Reconnects != 1 || len(reqs) != 2 || !reqs[1].GetSince().AsTime().Equal(base.Add(-DefaultOverlap)) {
		t.Errorf("stats %+v, requests %v: want one store error, one reconnect from the first flow minus the overlap", st, reqs)
	}
	if n := len(ts.all(t)); n != 6 {
		t.Errorf("%d records stored, want the 6 flows once each", n)
	}
}
