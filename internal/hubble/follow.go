package hubble

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/flowlog"
	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/hubble/api/observer"
	"github.com/kordon-dev/kordon/internal/hubble/api/relay"
	"github.com/kordon-dev/kordon/internal/store"
)

// Defaults of Options.
const (
	DefaultBatchSize     = 1000
	DefaultFlushInterval = time.Second
	DefaultOverlap       = 2 * time.Second
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
)

const (
	// windowSize is gRPC's flow-control window, per stream and per
	// connection. A fixed window turns off gRPC's window growth (up to
	// 16 MiB), so that a server flooding a slow store waits after this
	// many bytes.
	windowSize = 1 << 20
	// queueLen is how many responses wait between the receiving goroutine
	// and the batcher.
	queueLen = 256
	// maxMessage bounds one response.
	maxMessage = 4 << 20
	// maxSeen bounds the fingerprints kept to recognise flows sent again
	// after a resume.
	maxSeen = 200_000
	// finalFlush bounds storing the last batch after the context ends.
	finalFlush = 10 * time.Second
)

// Source is the "source" attribute of the events a Follower stores.
const Source = "hubble"

// Options configure a Follower.
type Options struct {
	// Addr is Hubble's address (host:port), such as
	// hubble-relay.kube-system.svc:443 or unix:///var/run/cilium/hubble.sock.
	Addr string
	// Credentials secure the connection (TLSOptions.Credentials).
	Credentials credentials.TransportCredentials
	// Normalizer turns flows into Flow events and attributes them.
	Normalizer *flowlog.Normalizer
	// Append stores a batch of records; it is the store's ingest path
	// (enrichment and alerts included). An error ends the stream: the
	// batch is read again from the server after the reconnect.
	Append func(ctx context.Context, recs []store.Record) error
	// Log receives reconnects and gaps; nil discards them.
	Log *slog.Logger
	// BatchSize is the most flows stored at once; FlushInterval the
	// longest a flow waits for its batch.
	BatchSize     int
	FlushInterval time.Duration
	// Overlap is how far before the last stored flow a resumed stream
	// starts; the flows of the overlap already stored are dropped. It
	// covers Hubble Relay's merging of nodes' flows slightly out of order.
	Overlap time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnect, which
	// doubles while connecting fails.
	MinBackoff, MaxBackoff time.Duration
	// Now returns the current time (tests fix it).
	Now func() time.Time
}

// Stats count what a Follower did. Lost and Gaps are what could not be
// had: flows Hubble said it lost, and the gap events stored for them and
// for server restarts and unavailable nodes.
type Stats struct {
	Received    uint64 `json:"received"`    // responses received (flows and notices)
	Flows       uint64 `json:"flows"`       // Flow events stored
	Skipped     uint64 `json:"skipped"`     // replies and flows without a transport port
	Duplicates  uint64 `json:"duplicates"`  // flows sent again after a resume, dropped
	Rejected    uint64 `json:"rejected"`    // flows the event checks refused (time far ahead)
	Lost        uint64 `json:"lost"`        // flows Hubble reported lost (LostEvents)
	Gaps        uint64 `json:"gaps"`        // gap events stored
	Reconnects  uint64 `json:"reconnects"`  // streams that ended and were resumed
	StoreErrors uint64 `json:"storeErrors"` // batches the store refused (read again)
}

// Follower follows one Hubble server. Run it once; Stats is safe to call
// concurrently with Run.
type Follower struct {
	o    Options
	seed maphash.Seed

	received, flows, skipped, dups, rejected, lost, gaps, reconnects, storeErrs atomic.Uint64
}

// New checks o and returns a Follower.
func New(o Options) (*Follower, error) {
	switch {
	case o.Addr == "":
		return nil, errors.New("hubble: no address")
	case o.Credentials == nil:
		return nil, errors.New("hubble: no transport credentials (TLS options, or plaintext)")
	case o.Normalizer == nil || o.Append == nil:
		return nil, errors.New("hubble: a normalizer and a store are needed")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Overlap < 0 {
		return nil, errors.New("hubble: negative overlap")
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Follower{o: o, seed: maphash.MakeSeed()}, nil
}

// Stats returns the counts so far.
func (f *Follower) Stats() Stats {
	return Stats{Received: f.received.Load(), Flows: f.flows.Load(), Skipped: f.skipped.Load(), Duplicates: f.dups.Load(), Rejected: f.rejected.Load(),
		Lost: f.lost.Load(), Gaps: f.gaps.Load(), Reconnects: f.reconnects.Load(), StoreErrors: f.storeErrs.Load()}
}

// resume is where a new stream starts: the time of the last stored flow,
// and the fingerprints of the stored flows of the overlap before it.
type resume struct {
	last time.Time
	// pending is the time of the earliest flow received and not yet
	// stored: before any flow is stored, a stream resumes from it.
	pending  time.Time
	seen     map[uint64]struct{}
	order    []seenFlow // in commit order, for pruning
	streams  int        // streams opened
	restart  time.Time  // the server start last reported as a gap
	overlap  time.Duration
	seenHead int
}

type seenFlow struct {
	fp uint64
	t  time.Time
}

// since is where the next stream starts (zero: new flows only).
func (r *resume) since() time.Time {
	t := r.last
	if !r.pending.IsZero() && (t.IsZero() || r.pending.Before(t)) {
		t = r.pending
	}
	if t.IsZero() {
		return t
	}
	return t.Add(-r.overlap)
}

func (r *resume) commit(fs []seenFlow) {
	r.pending = time.Time{}
	for _, s := range fs {
		if s.t.After(r.last) {
			r.last = s.t
		}
	}
	for _, s := range fs {
		r.seen[s.fp] = struct{}{}
		r.order = append(r.order, s)
	}
	edge := r.last.Add(-r.overlap)
	for r.seenHead < len(r.order) && (r.order[r.seenHead].t.Before(edge) || len(r.order)-r.seenHead > maxSeen) {
		delete(r.seen, r.order[r.seenHead].fp)
		r.seenHead++
	}
	if r.seenHead > len(r.order)/2 && r.seenHead > 1024 {
		r.order = append(r.order[:0], r.order[r.seenHead:]...)
		r.seenHead = 0
	}
}

// Run follows the server until ctx ends, reconnecting whenever the stream
// breaks, and returns nil then; the records received before are stored
// first. It returns an error only when the client cannot be made (a bad
// address).
func (f *Follower) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(f.o.Addr,
		grpc.WithTransportCredentials(f.o.Credentials),
		grpc.WithInitialWindowSize(windowSize),
		grpc.WithInitialConnWindowSize(windowSize),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return fmt.Errorf("hubble %s: %w", f.o.Addr, err)
	}
	defer conn.Close()
	client := observer.NewObserverClient(conn)
	r := &resume{seen: map[uint64]struct{}{}, overlap: f.o.Overlap}
	backoff := f.o.MinBackoff
	for {
		got, err := f.follow(ctx, client, r)
		if ctx.Err() != nil {
			return nil
		}
		f.reconnects.Add(1)
		if got {
			backoff = f.o.MinBackoff
		}
		var from any = "new flows"
		if t := r.since(); !t.IsZero() {
			from = t
		}
		f.o.Log.Warn("hubble: stream ended, reconnecting", "server", f.o.Addr, "err", err, "in", backoff.String(), "resumeFrom", from)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, f.o.MaxBackoff)
	}
}

// batch is what waits to be stored.
type batch struct {
	recs  []store.Record // Flow events
	gaps  []store.Record // gap events
	flows []seenFlow     // fingerprints of the batch's flows, committed once stored
}

// follow runs one stream until it breaks or ctx ends. got says whether
// it received anything.
func (f *Follower) follow(ctx context.Context, client observer.ObserverClient, r *resume) (got bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.streams > 0 {
		if err := f.checkRestart(sctx, client, r); err != nil {
			return false, err
		}
	}
	r.streams++
	req := &observer.GetFlowsRequest{Follow: true}
	if t := r.since(); !t.IsZero() {
		req.Since = timestamppb.New(t)
	}
	stream, err := client.GetFlows(sctx, req)
	if err != nil {
		return false, fmt.Errorf("get flows: %w", err)
	}
	msgs := make(chan *observer.GetFlowsResponse, queueLen)
	var recvErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(msgs)
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr = err
				return
			}
			select {
			case msgs <- m:
			case <-sctx.Done():
				return
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	tick := time.NewTicker(f.o.FlushInterval)
	defer tick.Stop()
	var b batch
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				// The stream ended: store what came before it.
				wg.Wait()
				if err := f.flush(ctx, &b, r); err != nil {
					return got, err
				}
				if recvErr == nil {
					recvErr = errors.New("stream closed by the server")
				}
				return got, recvErr
			}
			got = true
			f.handle(m, &b, r)
			if len(b.recs)+len(b.gaps) >= f.o.BatchSize {
				if err := f.flush(ctx, &b, r); err != nil {
					return got, err
				}
			}
		case <-tick.C:
			if err := f.flush(ctx, &b, r); err != nil {
				return got, err
			}
		case <-ctx.Done():
			// Store what was received: the responses already queued and
			// the batch, with a context of their own.
			cancel()
			for m := range msgs {
				f.handle(m, &b, r)
			}
			fctx, stop := context.WithTimeout(context.WithoutCancel(ctx), finalFlush)
			defer stop()
			return got, f.flush(fctx, &b, r)
		}
	}
}

// flush stores the batch. On success its flows become the resume point;
// on failure they are dropped, to be read again after the reconnect the
// returned error causes.
func (f *Follower) flush(ctx context.Context, b *batch, r *resume) error {
	if len(b.recs)+len(b.gaps) == 0 {
		return nil
	}
	// The store's ingest path may keep the records (alerts): the next
	// batch gets new slices.
	defer func() { b.recs, b.gaps, b.flows = nil, nil, b.flows[:0] }()
	nflow, ngap := len(b.recs), len(b.gaps)
	if err := f.o.Append(ctx, append(b.recs, b.gaps...)); err != nil {
		f.storeErrs.Add(1)
		return fmt.Errorf("store %d records: %w", nflow+ngap, err)
	}
	f.flows.Add(uint64(nflow))
	f.gaps.Add(uint64(ngap))
	r.commit(b.flows)
	return nil
}

// fingerprint identifies a flow: by its UUID, or by its encoding when it
// has none.
func (f *Follower) fingerprint(fl *flowpb.Flow) uint64 {
	if id := fl.GetUuid(); id != "" {
		return maphash.String(f.seed, id)
	}
	data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(fl)
	return maphash.Bytes(f.seed, data)
}

func (f *Follower) handle(m *observer.GetFlowsResponse, b *batch, r *resume) {
	f.received.Add(1)
	now := f.o.Now().UTC()
	switch {
	case m.GetFlow() != nil:
		fl := m.GetFlow()
		fp := f.fingerprint(fl)
		if _, dup := r.seen[fp]; dup {
			f.dups.Add(1)
			return
		}
		ff, ok := toFlow(fl, now)
		if !ok {
			f.skipped.Add(1)
			return
		}
		ev := f.o.Normalizer.FromFlow(ff, Source)
		if node := fl.GetNodeName(); node != "" {
			ev.Attributes["node"] = node
		}
		if err := checkTime(ev.Time, now); err != nil {
			f.rejected.Add(1)
			f.o.Log.Warn("hubble: flow refused", "flow", ev.Message, "err", err)
			return
		}
		b.recs = append(b.recs, store.Record{Type: store.TypeEvent, Event: ev})
		b.flows = append(b.flows, seenFlow{fp: fp, t: ff.Time})
		if r.pending.IsZero() || ff.Time.Before(r.pending) {
			r.pending = ff.Time
		}
	case m.GetLostEvents() != nil:
		le := m.GetLostEvents()
		f.lost.Add(le.GetNumEventsLost())
		t := now
		if ts := le.GetLast(); ts != nil && ts.IsValid() {
			t = ts.AsTime().UTC()
		} else if ts := m.GetTime(); ts != nil && ts.IsValid() {
			t = ts.AsTime().UTC()
		}
		msg := fmt.Sprintf("Hubble lost %d events (%s)", le.GetNumEventsLost(), le.GetSource())
		if node := m.GetNodeName(); node != "" {
			msg += " on node " + node
		}
		if le.GetFirst().IsValid() && le.GetLast().IsValid() {
			msg += fmt.Sprintf(" between %s and %s", le.GetFirst().AsTime().UTC().Format(time.RFC3339Nano), le.GetLast().AsTime().UTC().Format(time.RFC3339Nano))
		}
		f.o.Log.Warn("hubble: "+msg, "server", f.o.Addr)
		b.gaps = append(b.gaps, f.gapEvent(t, "lost-events", msg, map[string]string{
			"lost": strconv.FormatUint(le.GetNumEventsLost(), 10), "lostSource": le.GetSource().String(), "node": m.GetNodeName()}))
	case m.GetNodeStatus() != nil:
		ns := m.GetNodeStatus()
		switch ns.GetStateChange() {
		case relay.NodeState_NODE_UNAVAILABLE, relay.NodeState_NODE_ERROR:
			msg := fmt.Sprintf("Hubble Relay: nodes %s are %s: their flows are missing until they are back", strings.Join(ns.GetNodeNames(), ", "), ns.GetStateChange())
			if ns.GetMessage() != "" {
				msg += " (" + ns.GetMessage() + ")"
			}
			f.o.Log.Warn(msg, "server", f.o.Addr)
			b.gaps = append(b.gaps, f.gapEvent(now, "nodes-unavailable", msg, map[string]string{"nodes": strings.Join(ns.GetNodeNames(), ",")}))
		default:
			f.o.Log.Info("hubble relay: node status", "state", ns.GetStateChange().String(), "nodes", ns.GetNodeNames())
		}
	}
}

// checkRestart asks a server reached again whether it restarted after the
// last stored flow: a restarted Hubble keeps nothing from before, so the
// flows between are missing, and a gap event says so. Servers without
// ServerStatus are taken as they are.
func (f *Follower) checkRestart(ctx context.Context, client observer.ObserverClient, r *resume) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := client.ServerStatus(cctx, &observer.ServerStatusRequest{})
	if status.Code(err) == codes.Unimplemented {
		return nil
	}
	if err != nil {
		return fmt.Errorf("server status: %w", err)
	}
	if r.last.IsZero() {
		return nil
	}
	now := f.o.Now().UTC()
	started := now.Add(-time.Duration(st.GetUptimeNs()))
	if !started.After(r.last) || started.Sub(r.restart).Abs() < time.Second {
		return nil
	}
	r.restart = started
	msg := fmt.Sprintf("Hubble at %s restarted at %s, after the last stored flow (%s): the flows between are missing",
		f.o.Addr, started.Format(time.RFC3339Nano), r.last.Format(time.RFC3339Nano))
	f.o.Log.Warn(msg)
	rec := f.gapEvent(started, "server-restart", msg, map[string]string{"lastFlow": r.last.Format(time.RFC3339Nano)})
	if err := f.o.Append(ctx, []store.Record{rec}); err != nil {
		f.storeErrs.Add(1)
		return fmt.Errorf("store gap event: %w", err)
	}
	f.gaps.Add(1)
	return nil
}

// gapEvent is the event that records flows Kordon could not get.
func (f *Follower) gapEvent(t time.Time, kind, msg string, attrs map[string]string) store.Record {
	if now := f.o.Now().UTC(); checkTime(t, now) != nil {
		t = now // a time the store would refuse, from a broken server
	}
	a := map[string]string{"source": Source, "gap": kind, "server": f.o.Addr}
	for k, v := range attrs {
		if v != "" {
			a[k] = v
		}
	}
	return store.Record{Type: store.TypeEvent, Event: finding.Event{Time: t, Engine: "flow", Action: finding.ActionObserved,
		Finding: finding.Finding{Severity: finding.Low, Controls: []string{}, Message: msg}, Attributes: a}}
}

// checkTime refuses flows the store would refuse: more than a day ahead,
// or outside 1970 to 2200.
func checkTime(t, now time.Time) error {
	switch {
	case t.Year() < 1970 || t.Year() > 2200:
		return fmt.Errorf("time %s out of range", t.Format(time.RFC3339))
	case t.After(now.Add(24 * time.Hour)):
		return fmt.Errorf("time %s is more than 24h ahead", t.Format(time.RFC3339))
	}
	return nil
}
