package waf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
)

// Engine is a compiled WAF: Coraza with the Core Rule Set and the
// configuration it was built from. It is safe for concurrent use.
type Engine struct {
	waf coraza.WAF
	// lite is CRS without the rules the screen stands for; nil when the
	// engine runs without a screen (Config.NoScreen, TestMode baseline).
	lite   coraza.WAF
	screen Screen
	// screened and escalated count transactions begun on the lite rule
	// set and those the screen sent to the full one.
	screened, escalated atomic.Int64
	cfg                 Config
	stages              []Stage
	ruleIDs             []int
	// overdue counts inspections abandoned at their time bound whose
	// Coraza evaluation is still running (it cannot be interrupted).
	overdue    atomic.Int64
	maxOverdue int64
}

// ErrInspectionTimeout means a request (or response body) was not fully
// inspected within Config.InspectTimeout; the caller refuses or passes it
// as a failure of the engine (KOR-WAF-003).
var ErrInspectionTimeout = errors.New("not fully inspected within the inspection time bound")

// ErrOverloaded means too many earlier inspections overran their time
// bound and are still running: new ones are not started until they end.
var ErrOverloaded = errors.New("not inspected: too many earlier inspections overran their time bound and are still running")

// New compiles the Core Rule Set with cfg (a few hundred milliseconds).
// Stages run after CRS's request phases, in order.
func New(cfg Config, stages ...Stage) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var (
		ids   []int
		rules []types.RuleMetadata
	)
	wc := experimental.WAFConfigWithRuleObserver(coraza.NewWAFConfig().WithRootFS(coreruleset.FS),
		func(r types.RuleMetadata) {
			ids = append(ids, r.ID())
			rules = append(rules, r)
		})
	w, err := coraza.NewWAF(wc.WithDirectives(directives(cfg)))
	if err != nil {
		return nil, fmt.Errorf("compile the core rule set: %w", err)
	}
	slices.Sort(ids)
	e := &Engine{waf: w, cfg: cfg, stages: stages, ruleIDs: slices.Compact(ids), maxOverdue: int64(cfg.MaxOverdue)}
	if !cfg.NoScreen && !cfg.baseline {
		s := cfg.screen
		if s == nil {
			if s, err = newScreen(cfg, rules); err != nil {
				return nil, fmt.Errorf("build the rule screen: %w", err)
			}
		}
		if err := e.withScreen(s); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// withScreen compiles the lite rule set: CRS without the rules s stands
// for.
func (e *Engine) withScreen(s Screen) error {
	ids := s.RuleIDs()
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(directives(e.cfg))
	for chunk := range slices.Chunk(ids, 64) {
		b.WriteString("SecRuleRemoveById")
		for _, id := range chunk {
			fmt.Fprintf(&b, " %d", id)
		}
		b.WriteString("\n")
	}
	lite, err := coraza.NewWAF(coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(b.String()))
	if err != nil {
		return fmt.Errorf("compile the core rule set without the screened rules: %w", err)
	}
	e.lite, e.screen = lite, s
	return nil
}

// ScreenStats returns how many transactions began on the lite rule set
// and how many of them the screen sent to the full rule set.
func (e *Engine) ScreenStats() (screened, escalated int64) {
	return e.screened.Load(), e.escalated.Load()
}

// Config returns the configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// RuleIDs returns the IDs of every rule loaded, ascending.
func (e *Engine) RuleIDs() []int { return e.ruleIDs }

// Request is what the engine needs of an HTTP request before its body.
type Request struct {
	// ID identifies the request in events and the 403 page; New makes
	// one when empty.
	ID     string
	Method string
	// URI is the request target as sent: path and query.
	URI   string
	Proto string
	Host  string
	// Header holds the request headers (Host excluded).
	Header                 http.Header
	ClientAddr, ServerAddr string
	ClientPort, ServerPort int
}

// NewRequestID returns a random request ID (16 hex digits).
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Block is an engine's decision to refuse a request or response.
type Block struct {
	// Status is the HTTP status to answer with (403, 413, 400).
	Status int
	// RuleID is the rule that decided.
	RuleID int
}

// Tx is one request's passage through the engine: request headers,
// request body, response headers, response body, then Finish. Not safe
// for concurrent use.
type Tx struct {
	e       *Engine
	tx      types.Transaction
	req     *Request
	blocked *Block
	stage   []Match
	// deadline bounds the request phases (set by RequestHeaders).
	deadline time.Time
	// mu guards done and abandoned, shared with a phase's goroutine.
	mu sync.Mutex
	// abandoned: a phase overran; its goroutine owns tx and closes it.
	abandoned bool
	// lite: tx runs the lite rule set (Engine.screen decides after each
	// phase whether it must move to the full one).
	lite bool
	// small: the request line and headers are at most inlineBytes.
	small bool
	// bodyRead: the request body went into tx (it is replayed from there
	// when tx moves to the full rule set).
	bodyRead bool
	// The response's status line and headers (replayed likewise).
	respStatus int
	respProto  string
	respHeader http.Header
}

// inlineBytes is the largest phase input (request line and headers
// without a body, or a response body) inspected on the caller's
// goroutine. Coraza's work grows with the input; on 2 KB of hostile input
// the full rule set at paranoia level 4 takes about 30 ms, far below any
// sensible inspection bound, while handing a phase to another goroutine
// and back costs about 15 µs, a tenth of a benign request's inspection
// (docs/benchmarks.md, WAF).
const inlineBytes = 2 << 10

// inlineBound is the smallest inspection bound under which phases with
// small inputs still run on the caller's goroutine.
const inlineBound = 250 * time.Millisecond

// run runs one phase's Coraza work f and waits for it until deadline or
// ctx ends: in a goroutine, unless inline (a small input and a bound of
// at least inlineBound) where it runs on the caller's goroutine. Coraza
// cannot be interrupted: an overrunning phase is abandoned (it closes the
// transaction when it ends) and counted against Config.MaxOverdue. A
// panic in f is returned as an error.
func (t *Tx) run(ctx context.Context, phase string, deadline time.Time, inline bool, f func()) error {
	if t.abandoned {
		return fmt.Errorf("%s: %w", phase, ErrInspectionTimeout)
	}
	if t.e.overdue.Load() >= t.e.maxOverdue {
		return fmt.Errorf("%s: %w", phase, ErrOverloaded)
	}
	if ctx.Err() != nil {
		// The caller gave up before the phase began: the transaction is
		// abandoned without running it.
		t.mu.Lock()
		t.abandoned = true
		t.mu.Unlock()
		_ = t.tx.Close()
		return fmt.Errorf("%s: %w", phase, context.Cause(ctx))
	}
	if inline && t.e.cfg.InspectTimeout >= inlineBound {
		return runInline(phase, f)
	}
	var (
		done     = make(chan struct{})
		finished bool
		panicked any
	)
	go func() {
		defer func() {
			v := recover()
			t.mu.Lock()
			finished, panicked = true, v
			ab := t.abandoned
			t.mu.Unlock()
			close(done)
			if ab {
				func() {
					defer func() { _ = recover() }()
					_ = t.tx.Close()
				}()
				t.e.overdue.Add(-1)
			}
		}()
		f()
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var cause error
	select {
	case <-done:
	case <-timer.C:
		cause = fmt.Errorf("%s: %w (%s)", phase, ErrInspectionTimeout, t.e.cfg.InspectTimeout)
	case <-ctx.Done():
		cause = fmt.Errorf("%s: %w", phase, context.Cause(ctx))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if finished {
		if panicked != nil {
			return fmt.Errorf("%s: panic: %v", phase, panicked)
		}
		return nil
	}
	t.abandoned = true
	t.e.overdue.Add(1)
	return cause
}

// runInline runs f, returning a panic as an error.
func runInline(phase string, f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: panic: %v", phase, v)
		}
	}()
	f()
	return nil
}

// Begin starts the inspection of r: on the lite rule set when the engine
// has a screen, else on the full one.
func (e *Engine) Begin(r *Request) *Tx {
	if r.ID == "" {
		r.ID = NewRequestID()
	}
	if e.lite != nil {
		e.screened.Add(1)
		return &Tx{e: e, tx: e.lite.NewTransactionWithID(r.ID), req: r, lite: true}
	}
	return &Tx{e: e, tx: e.waf.NewTransactionWithID(r.ID), req: r}
}

// screenPhase runs after phase of the lite transaction: when the screen
// cannot prove that none of the rules it stands for matches, the
// transaction moves to the full rule set, which replays the phases up to
// this one and whose interruption then counts instead of it.
func (t *Tx) screenPhase(phase int, it *types.Interruption, respBody []byte) (*types.Interruption, error) {
	if !t.lite {
		return it, nil
	}
	st, ok := t.tx.(plugintypes.TransactionState)
	if ok && t.e.screen.Clean(phase, st) {
		return it, nil
	}
	return t.escalate(phase, respBody)
}

// escalate replaces the lite transaction with one of the full rule set
// and replays on it the phases up to upto, with the inputs the lite one
// was given (its buffered request body, the response headers and body).
// It returns the interruption of the last phase replayed.
func (t *Tx) escalate(upto int, respBody []byte) (*types.Interruption, error) {
	t.e.escalated.Add(1)
	old := t.tx
	defer func() { _ = old.Close() }()
	t.tx, t.lite = t.e.waf.NewTransactionWithID(t.req.ID), false
	if it := t.requestHeaders(); it != nil || upto == 1 {
		return it, nil
	}
	if t.bodyRead {
		r, err := old.RequestBodyReader()
		if err != nil {
			return nil, fmt.Errorf("replay the request body: %w", err)
		}
		it, _, err := t.tx.ReadRequestBodyFrom(r)
		if err != nil {
			return nil, fmt.Errorf("replay the request body: %w", err)
		}
		if it != nil {
			return it, nil
		}
	}
	it, err := t.tx.ProcessRequestBody()
	if err != nil {
		return nil, fmt.Errorf("inspect request body: %w", err)
	}
	if it != nil || upto == 2 {
		return it, nil
	}
	if it := t.responseHeaders(); it != nil || upto == 3 {
		return it, nil
	}
	return t.responseBody(respBody)
}

// ID returns the request ID.
func (t *Tx) ID() string { return t.req.ID }

// Blocked returns the block decided so far, nil when none.
func (t *Tx) Blocked() *Block { return t.blocked }

func (t *Tx) interrupted(it *types.Interruption) *Block {
	if it == nil {
		return nil
	}
	status := it.Status
	if status == 0 || it.Action == "drop" {
		status = http.StatusForbidden
	}
	t.blocked = &Block{Status: status, RuleID: it.RuleID}
	return t.blocked
}

// RequestHeaders runs phase 1 on the request line and headers. It starts
// the request's inspection time bound (phases 1 and 2 and the stages
// share it); an error means the request was not inspected (see
// ErrInspectionTimeout, ErrOverloaded).
func (t *Tx) RequestHeaders(ctx context.Context) (*Block, error) {
	t.deadline = time.Now().Add(t.e.cfg.InspectTimeout)
	var it *types.Interruption
	var serr error
	t.small = t.headerBytes() <= inlineBytes
	err := t.run(ctx, "request headers (phase 1)", t.deadline, t.small, func() {
		it = t.requestHeaders()
		it, serr = t.screenPhase(1, it, nil)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	return t.interrupted(it), nil
}

func (t *Tx) requestHeaders() *types.Interruption {
	r := t.req
	t.tx.ProcessConnection(r.ClientAddr, r.ClientPort, r.ServerAddr, r.ServerPort)
	t.tx.ProcessURI(r.URI, r.Method, r.Proto)
	if r.Host != "" {
		t.tx.AddRequestHeader("Host", r.Host)
		t.tx.SetServerName(hostName(r.Host))
	}
	// In name order: Go's map order is random, and the order reaches
	// the matched data of rules over several headers.
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			t.tx.AddRequestHeader(k, v)
		}
	}
	return t.tx.ProcessRequestHeaders()
}

// RequestBody reads body (nil or http.NoBody when the request has none,
// which skips the body buffering) up to the body limit, runs phase 2 and
// then the stages. It returns the buffered body to forward. A read error
// is the client's: the caller answers 400.
func (t *Tx) RequestBody(ctx context.Context, body io.Reader) (*Block, io.Reader, error) {
	var (
		fwd  io.Reader = http.NoBody
		rest io.Reader // what Coraza left unread: nothing unless detect mode let an oversized body through
		it   *types.Interruption
		err  error
	)
	if t.deadline.IsZero() {
		return nil, nil, errors.New("request body inspected before its headers")
	}
	bodiless := body == nil || body == http.NoBody
	rerr := t.run(ctx, "request body (phase 2)", t.deadline, t.small && bodiless, func() {
		it, fwd, rest, err = t.requestBody(body)
	})
	if rerr != nil {
		return nil, nil, rerr
	}
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return nil, nil, re.err
		}
		return nil, nil, err
	}
	if b := t.interrupted(it); b != nil {
		return b, nil, nil
	}
	for _, s := range t.e.stages {
		var sb io.Reader = http.NoBody
		if fwd != http.NoBody {
			if sb, err = t.tx.RequestBodyReader(); err != nil {
				return nil, nil, fmt.Errorf("buffer request body: %w", err)
			}
		}
		sctx, cancel := context.WithDeadline(ctx, t.deadline)
		res, err := s.Inspect(sctx, t.req, sb)
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("stage %s: %w", s.Name(), err)
		}
		t.stage = append(t.stage, res.Matches...)
		if res.Block != nil && t.e.cfg.Mode == ModeBlock {
			t.blocked = res.Block
			return res.Block, nil, nil
		}
	}
	if fwd != http.NoBody {
		// The stages may have read it: a fresh reader for the upstream.
		if fwd, err = t.tx.RequestBodyReader(); err != nil {
			return nil, nil, fmt.Errorf("buffer request body: %w", err)
		}
		fwd = io.MultiReader(fwd, rest)
	}
	return nil, fwd, nil
}

// readError is a failure to read the client's body (not the engine's).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

func (t *Tx) requestBody(body io.Reader) (it *types.Interruption, fwd, rest io.Reader, err error) {
	fwd = http.NoBody
	if body != nil && body != http.NoBody && t.tx.IsRequestBodyAccessible() {
		// Coraza reads at most the limit plus one byte (its limit is set
		// one over ours): reaching it means the body is too large.
		t.bodyRead = true
		it, _, err := t.tx.ReadRequestBodyFrom(body)
		if err != nil {
			return nil, nil, nil, &readError{fmt.Errorf("read request body: %w", err)}
		}
		if it != nil {
			return it, nil, nil, nil
		}
		if fwd, err = t.tx.RequestBodyReader(); err != nil {
			return nil, nil, nil, fmt.Errorf("buffer request body: %w", err)
		}
		rest = body
	}
	it, err = t.tx.ProcessRequestBody()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("inspect request body: %w", err)
	}
	if it, err = t.screenPhase(2, it, nil); err != nil {
		return nil, nil, nil, err
	}
	if fwd != http.NoBody {
		// The transaction may have moved to the full rule set.
		if fwd, err = t.tx.RequestBodyReader(); err != nil {
			return nil, nil, nil, fmt.Errorf("buffer request body: %w", err)
		}
	}
	return it, fwd, rest, nil
}

// ResponseHeaders runs phase 3, bounded by its own Config.InspectTimeout
// (when the screen moves the transaction to the full rule set here, the
// request phases are replayed). A phase that fails or overruns its bound
// refuses the response with 503: it was not inspected.
func (t *Tx) ResponseHeaders(status int, proto string, h http.Header) *Block {
	t.respStatus, t.respProto, t.respHeader = status, proto, h
	var (
		it   *types.Interruption
		serr error
	)
	err := t.run(context.Background(), "response headers (phase 3)", time.Now().Add(t.e.cfg.InspectTimeout), t.small && !t.bodyRead, func() {
		it, serr = t.screenPhase(3, t.responseHeaders(), nil)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		t.blocked = &Block{Status: http.StatusServiceUnavailable}
		return t.blocked
	}
	return t.interrupted(it)
}

func (t *Tx) responseHeaders() *types.Interruption {
	for _, k := range slices.Sorted(maps.Keys(t.respHeader)) {
		for _, v := range t.respHeader[k] {
			t.tx.AddResponseHeader(k, v)
		}
	}
	return t.tx.ProcessResponseHeaders(t.respStatus, t.respProto)
}

// InspectsResponseBody reports whether phase 4 reads the response body
// (its media type is one CRS inspects); call it after ResponseHeaders.
func (t *Tx) InspectsResponseBody() bool {
	return t.tx.IsResponseBodyAccessible() && t.tx.IsResponseBodyProcessable()
}

// ResponseBody runs phase 4 on the first bytes of the response body (at
// most the response body limit; the caller forwards the rest unread),
// bounded by its own Config.InspectTimeout.
func (t *Tx) ResponseBody(ctx context.Context, body []byte) (*Block, error) {
	var (
		it  *types.Interruption
		err error
	)
	rerr := t.run(ctx, "response body (phase 4)", time.Now().Add(t.e.cfg.InspectTimeout), t.small && len(body) <= inlineBytes, func() {
		it, err = t.responseBody(body)
	})
	if rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	return t.interrupted(it), nil
}

func (t *Tx) responseBody(body []byte) (*types.Interruption, error) {
	if len(body) > 0 {
		it, _, err := t.tx.WriteResponseBody(body)
		if err != nil {
			return nil, fmt.Errorf("inspect response body: %w", err)
		}
		if it != nil {
			return it, nil
		}
	}
	it, err := t.tx.ProcessResponseBody()
	if err != nil {
		return nil, fmt.Errorf("inspect response body: %w", err)
	}
	return t.screenPhase(4, it, body)
}

// Finish runs phase 5, closes the transaction and returns the decision.
// Call it once, last.
//
// After a phase overran its time bound the transaction belongs to that
// phase's goroutine: the decision then holds the stages' matches only.
func (t *Tx) Finish() *Decision {
	d := &Decision{Request: t.req, Mode: t.e.cfg.Mode, Blocked: t.blocked}
	t.mu.Lock()
	abandoned := t.abandoned
	t.mu.Unlock()
	if abandoned {
		d.Matches = append(d.Matches, t.stage...)
		return d
	}
	t.tx.ProcessLogging()
	for _, mr := range t.tx.MatchedRules() {
		if l, ok := mr.(interface{ Log() bool }); ok && !l.Log() {
			continue
		}
		d.Matches = append(d.Matches, matchOf(mr))
	}
	d.Matches = append(d.Matches, t.stage...)
	if st, ok := t.tx.(plugintypes.TransactionState); ok {
		d.InboundScore = txInt(st, "blocking_inbound_anomaly_score")
		d.OutboundScore = txInt(st, "blocking_outbound_anomaly_score")
	}
	_ = t.tx.Close()
	return d
}

func txInt(st plugintypes.TransactionState, name string) int {
	v := st.Variables().TX().Get(name)
	if len(v) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(v[0])
	return n
}

// headerBytes is the size of the request line and headers.
func (t *Tx) headerBytes() int {
	r := t.req
	n := len(r.Method) + len(r.URI) + len(r.Proto) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

func hostName(host string) string {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return host[:i]
		case ']':
			return host
		}
	}
	return host
}
