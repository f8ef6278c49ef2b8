// Package httpapi is the HTTP API of `kordon server`: ingest of Events and
// Findings in JSON batches, queries in the store's query language, and
// store statistics, behind a bearer token. The requests, responses and
// status codes are the documented contract of docs/server.md, read by
// `kordon query --server` and the console.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/query"
)

// Defaults for Options.
const (
	DefaultMaxBody      = 16 << 20
	DefaultMaxBatch     = 50000
	DefaultQueryTimeout = 60 * time.Second
)

// Options configure the API.
type Options struct {
	Store store.Store
	Env   *query.Env
	// Token is the bearer token every /api/ request must carry; empty
	// requires none (only with the server's --no-auth).
	Token string
	// MaxBody bounds a request body in bytes; MaxBatch the records of
	// one ingest request.
	MaxBody  int64
	MaxBatch int
	// QueryTimeout bounds one query.
	QueryTimeout time.Duration
	// Enrich, when set, is called with the records of each ingest request
	// before they are stored; it may add attributes to them and returns
	// records to store beside them (threat-intelligence matches).
	Enrich func(recs []store.Record) []store.Record
	// Ingested, when set, is called with the records of each ingest
	// request after they are stored (alert rules).
	Ingested func(ctx context.Context, recs []store.Record)
	// Flows, when set, normalises flow logs posted to /api/v1/flows;
	// without it that path answers 404.
	Flows *flowlog.Normalizer
	// Now returns the current time (tests fix it).
	Now func() time.Time
}

// API serves the HTTP API. It is safe for concurrent use.
type API struct {
	opts Options
}

// New returns the API for a store.
func New(o Options) *API {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &API{opts: o}
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("POST /api/v1/events", a.auth(a.ingestEvents))
	mux.Handle("POST /api/v1/findings", a.auth(a.ingestFindings))
	if a.opts.Flows != nil {
		mux.Handle("POST /api/v1/flows", a.auth(a.ingestFlows))
	}
	mux.Handle("POST /api/v1/query", a.auth(a.postQuery))
	mux.Handle("GET /api/v1/query", a.auth(a.getQuery))
	mux.Handle("GET /api/v1/stats", a.auth(a.stats))
	return mux
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, Error{Error: fmt.Sprintf(format, args...)})
}

func (a *API) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.opts.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.opts.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="kordon"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
				return
			}
		}
		h(w, r)
	})
}

// readBody reads a bounded body; the error is written for the caller.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body over %d bytes: send smaller batches", a.opts.MaxBody)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "read request body: %v", err)
		return nil, false
	}
	return body, true
}

// IngestResult is the response to an ingest request.
type IngestResult struct {
	// Accepted counts the records stored.
	Accepted int `json:"accepted"`
	// Rejected lists the records not stored, by their index in the batch
	// (0-based), with the reason.
	Rejected []Rejection `json:"rejected"`
}

// Rejection is one record of a batch that was not stored.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// item is one record of a batch, or why it could not be read.
type item struct {
	raw json.RawMessage
	err error
}

// splitBatch splits a body into its items: a JSON array, or newline-
// delimited JSON (one item a line, blank lines ignored; a line that is not
// JSON is an item with an error, so the other lines are still stored).
func splitBatch(body []byte) ([]item, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("empty body: want a JSON array or one JSON object a line")
	}
	if trimmed[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("JSON array: %w", err)
		}
		return items(raws), nil
	}
	var out []item
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			out = append(out, item{err: fmt.Errorf("line %d: not valid JSON", i+1)})
			continue
		}
		out = append(out, item{raw: line})
	}
	return out, nil
}

func items(raws []json.RawMessage) []item {
	out := make([]item, len(raws))
	for i, r := range raws {
		out[i].raw = r
	}
	return out
}

func (a *API) ingestEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	items, err := splitBatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if len(items) > a.opts.MaxBatch {
		writeError(w, http.StatusRequestEntityTooLarge, "%d records in one request, over the limit of %d", len(items), a.opts.MaxBatch)
		return
	}
	now := a.opts.Now().UTC()
	res := IngestResult{Rejected: []Rejection{}}
	recs := make([]store.Record, 0, len(items))
	for i, it := range items {
		var e finding.Event
		if err := decodeStrict(it, &e); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		if err := CheckEvent(&e, now); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		recs = append(recs, store.Record{Type: store.TypeEvent, Event: e})
	}
	a.store(w, r, recs, res)
}

// Ingest enriches and stores records (with the records enrichment adds),
// then hands them on to Ingested, as the ingest endpoints do; other
// sources (Kafka) store through it.
func (a *API) Ingest(ctx context.Context, recs []store.Record) error {
	if a.opts.Enrich != nil && len(recs) > 0 {
		recs = append(recs, a.opts.Enrich(recs)...)
	}
	if err := a.opts.Store.Append(ctx, recs); err != nil {
		return err
	}
	if a.opts.Ingested != nil && len(recs) > 0 {
		a.opts.Ingested(ctx, recs)
	}
	return nil
}

func (a *API) store(w http.ResponseWriter, r *http.Request, recs []store.Record, res IngestResult) {
	if err := a.Ingest(r.Context(), recs); err != nil {
		writeError(w, http.StatusServiceUnavailable, "store: %v", err)
		return
	}
	res.Accepted = len(recs)
	status := http.StatusOK
	if len(res.Rejected) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// decodeStrict decodes one item, refusing unknown fields so that a typo
// does not lose data in silence.
func decodeStrict(it item, v any) error {
	if it.err != nil {
		return it.err
	}
	dec := json.NewDecoder(bytes.NewReader(it.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// Bounds on a record's fields.
const (
	maxFieldLen   = 64 << 10
	maxAttributes = 256
	maxFuture     = 24 * time.Hour
)

var actions = []string{finding.ActionDenied, finding.ActionWarned, finding.ActionAudited, finding.ActionAllowed,
	finding.ActionBlocked, finding.ActionKilled, finding.ActionAlerted, finding.ActionObserved}

// CheckEvent validates an ingested event and fills what the server
// decides: a missing time becomes now.
func CheckEvent(e *finding.Event, now time.Time) error {
	if e.Time.IsZero() {
		e.Time = now
	}
	if err := checkTime(e.Time, now); err != nil {
		return err
	}
	if e.Engine == "" {
		return errors.New("engine: missing")
	}
	ok := false
	for _, a := range actions {
		ok = ok || e.Action == a
	}
	if !ok {
		return fmt.Errorf("action %q: want one of %s", e.Action, strings.Join(actions, ", "))
	}
	return checkSizes(&e.Finding, e.Attributes)
}

func checkTime(t, now time.Time) error {
	if t.Year() < 1970 || t.Year() > 2200 {
		return fmt.Errorf("time %s: out of range", t.Format(time.RFC3339))
	}
	if t.After(now.Add(maxFuture)) {
		return fmt.Errorf("time %s: more than %s in the future", t.Format(time.RFC3339), maxFuture)
	}
	return nil
}

func checkSizes(f *finding.Finding, attrs map[string]string) error {
	if len(attrs) > maxAttributes {
		return fmt.Errorf("attributes: %d, over the limit of %d", len(attrs), maxAttributes)
	}
	for name, v := range map[string]string{"ruleID": f.RuleID, "title": f.Title, "message": f.Message, "remediation": f.Remediation,
		"resource.namespace": f.Resource.Namespace, "resource.kind": f.Resource.Kind, "resource.name": f.Resource.Name} {
		if len(v) > maxFieldLen {
			return fmt.Errorf("%s: %d bytes, over the limit of %d", name, len(v), maxFieldLen)
		}
	}
	for k, v := range attrs {
		if len(k)+len(v) > maxFieldLen {
			return fmt.Errorf("attributes.%s: over the limit of %d bytes", k, maxFieldLen)
		}
	}
	return nil
}

// findingsReport is the part of a `kordon scan -o json` report (or any
// report in that layout) the server stores.
type findingsReport struct {
	GeneratedAt time.Time         `json:"generatedAt"`
	Findings    []json.RawMessage `json:"findings"`
}

// ingestFindings stores findings: the body is a report in the layout of
// `kordon scan -o json` (its findings; suppressed ones are not stored) or
// a JSON array of findings. The engine is the query parameter "engine"
// (default scan); the time the report's generatedAt or now.
func (a *API) ingestFindings(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	engine := r.URL.Query().Get("engine")
	if engine == "" {
		engine = "scan"
	}
	now := a.opts.Now().UTC()
	at := now
	var batch []item
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var rep findingsReport
		if err := json.Unmarshal(trimmed, &rep); err != nil {
			writeError(w, http.StatusBadRequest, "report: %v", err)
			return
		}
		if rep.Findings == nil {
			writeError(w, http.StatusBadRequest, "report: no \"findings\" array (want the layout of kordon scan -o json, or an array of findings)")
			return
		}
		batch = items(rep.Findings)
		if !rep.GeneratedAt.IsZero() {
			at = rep.GeneratedAt.UTC()
		}
	} else {
		var err error
		if batch, err = splitBatch(body); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	if err := checkTime(at, now); err != nil {
		writeError(w, http.StatusBadRequest, "generatedAt: %v", err)
		return
	}
	if len(batch) > a.opts.MaxBatch {
		writeError(w, http.StatusRequestEntityTooLarge, "%d records in one request, over the limit of %d", len(batch), a.opts.MaxBatch)
		return
	}
	res := IngestResult{Rejected: []Rejection{}}
	recs := make([]store.Record, 0, len(batch))
	for i, it := range batch {
		var f finding.Finding
		if err := decodeStrict(it, &f); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		if f.RuleID == "" {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Error: "ruleID: missing"})
			continue
		}
		if err := checkSizes(&f, nil); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		recs = append(recs, store.Record{Type: store.TypeFinding, Event: finding.Event{Time: at, Engine: engine, Finding: f}})
	}
	a.store(w, r, recs, res)
}

// QueryRequest is the body of POST /api/v1/query: a query.Spec, with the
// time range optionally relative to now.
type QueryRequest struct {
	query.Spec
	// Since sets From to now minus a Go duration ("24h", "90m") when From
	// is not given.
	Since string `json:"since,omitempty"`
}

func (a *API) postQuery(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var req QueryRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "query: %v", err)
		return
	}
	a.runQuery(w, r, req)
}

// getQuery takes the query in URL parameters: filter, from, to, since,
// groupBy (comma-separated), count, limit.
func (a *API) getQuery(w http.ResponseWriter, r *http.Request) {
	req, err := QueryFromURL(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "query: %v", err)
		return
	}
	a.runQuery(w, r, req)
}

// QueryFromURL reads a query from URL parameters.
func QueryFromURL(v url.Values) (QueryRequest, error) {
	var req QueryRequest
	req.Filter = v.Get("filter")
	req.Since = v.Get("since")
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return req, fmt.Errorf("%s: %w", p.name, err)
			}
			*p.dst = t
		}
	}
	if s := v.Get("groupBy"); s != "" {
		req.GroupBy = strings.Split(s, ",")
	}
	if s := v.Get("count"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return req, fmt.Errorf("count: %w", err)
		}
		req.Count = b
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return req, fmt.Errorf("limit: %w", err)
		}
		req.Limit = n
	}
	return req, nil
}

// Resolve turns Since into From, relative to now.
func (req *QueryRequest) Resolve(now time.Time) error {
	if req.Since == "" {
		return nil
	}
	d, err := time.ParseDuration(req.Since)
	if err != nil || d <= 0 {
		return fmt.Errorf("since %q: want a positive duration such as 24h or 90m", req.Since)
	}
	if !req.From.IsZero() {
		return errors.New("since and from: give one")
	}
	req.From = now.Add(-d)
	return nil
}

func (a *API) runQuery(w http.ResponseWriter, r *http.Request, req QueryRequest) {
	if err := req.Resolve(a.opts.Now()); err != nil {
		writeError(w, http.StatusBadRequest, "query: %v", err)
		return
	}
	q, err := query.Compile(a.opts.Env, req.Spec)
	if err != nil {
		writeError(w, http.StatusBadRequest, "query: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.opts.QueryTimeout)
	defer cancel()
	res, err := q.Run(ctx, a.opts.Store)
	if err != nil {
		if ctx.Err() != nil {
			writeError(w, http.StatusGatewayTimeout, "query stopped after %s: narrow the time range or filter on indexed fields", a.opts.QueryTimeout)
			return
		}
		writeError(w, http.StatusInternalServerError, "query: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	st, err := a.opts.Store.Stats(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// FlowResult is the response to POST /api/v1/flows.
type FlowResult struct {
	// Accepted counts the Flow events stored.
	Accepted int `json:"accepted"`
	flowlog.Result
}

// flowBatch is how many flow events are stored in one transaction.
const flowBatch = 5000

// ingestFlows stores the flows of a flow log (the body, bounded by
// MaxBody) as Flow events; the format is the "format" URL parameter
// (default auto).
func (a *API) ingestFlows(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = flowlog.FormatAuto
	}
	if !slices.Contains(flowlog.Formats(), format) {
		writeError(w, http.StatusBadRequest, "format %q: want one of %s", format, strings.Join(flowlog.Formats(), ", "))
		return
	}
	body := http.MaxBytesReader(w, r.Body, a.opts.MaxBody)
	var res FlowResult
	batch := make([]store.Record, 0, flowBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n := len(batch)
		if err := a.Ingest(r.Context(), batch); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		res.Accepted += n
		batch = batch[:0]
		return nil
	}
	now := a.opts.Now().UTC()
	var timeErrs []string
	fr, err := a.opts.Flows.ReadEvents(body, "body", format, func(e finding.Event) error {
		if err := checkTime(e.Time, now); err != nil {
			if len(timeErrs) < 100 {
				timeErrs = append(timeErrs, fmt.Sprintf("flow %s: %v", e.Message, err))
			}
			return nil
		}
		batch = append(batch, store.Record{Type: store.TypeEvent, Event: e})
		if len(batch) == flowBatch {
			return flush()
		}
		return nil
	})
	res.Result = fr
	res.Errors = append(res.Errors, timeErrs...)
	if err == nil {
		err = flush()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, "request body over %d bytes after %d flows were stored: send smaller parts", a.opts.MaxBody, res.Accepted)
		case strings.HasPrefix(err.Error(), "store:"):
			writeError(w, http.StatusServiceUnavailable, "%v (%d flows stored before)", err, res.Accepted)
		default:
			writeError(w, http.StatusBadRequest, "%v (%d flows stored before)", err, res.Accepted)
		}
		return
	}
	status := http.StatusOK
	if len(res.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}
