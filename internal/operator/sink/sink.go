// Package sink sends the operator's findings and events to the event
// store: an embedded store (store.Store) or a remote `kordon server` over
// its HTTP API (/api/v1/findings and /api/v1/events with a bearer token).
package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
)

// Sink takes findings and events. Implementations are safe for
// concurrent use.
type Sink interface {
	// Findings stores the findings an engine reported at one time.
	Findings(ctx context.Context, engine string, at time.Time, fs []finding.Finding) error
	// Events stores events.
	Events(ctx context.Context, es []finding.Event) error
}

// Store writes to a store.Store in one transaction per call.
type Store struct{ Store store.Store }

var _ Sink = Store{}

// Findings appends the findings as records of type finding.
func (s Store) Findings(ctx context.Context, engine string, at time.Time, fs []finding.Finding) error {
	recs := make([]store.Record, len(fs))
	for i, f := range fs {
		recs[i] = store.Record{Type: store.TypeFinding, Event: finding.Event{Time: at.UTC(), Engine: engine, Finding: f}}
	}
	if err := s.Store.Append(ctx, recs); err != nil {
		return fmt.Errorf("store findings: %w", err)
	}
	return nil
}

// Events appends the events.
func (s Store) Events(ctx context.Context, es []finding.Event) error {
	recs := make([]store.Record, len(es))
	for i, e := range es {
		recs[i] = store.Record{Type: store.TypeEvent, Event: e}
	}
	if err := s.Store.Append(ctx, recs); err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	return nil
}

// DefaultBatch bounds the records of one request to a remote server.
const DefaultBatch = 5000

// Remote posts to a `kordon server`. Records the server rejects make an
// error naming the first rejection.
type Remote struct {
	Client *httpapi.Client
	// Batch bounds the records of one request; 0 means DefaultBatch.
	Batch int
}

var _ Sink = Remote{}

// report is the layout /api/v1/findings takes with a time.
type report struct {
	GeneratedAt time.Time         `json:"generatedAt"`
	Findings    []finding.Finding `json:"findings"`
}

// Findings posts the findings in batches.
func (r Remote) Findings(ctx context.Context, engine string, at time.Time, fs []finding.Finding) error {
	path := "/api/v1/findings?engine=" + url.QueryEscape(engine)
	for chunk := range chunks(fs, r.batch()) {
		body, err := json.Marshal(report{GeneratedAt: at.UTC(), Findings: chunk})
		if err != nil {
			return err
		}
		if err := r.send(ctx, path, body); err != nil {
			return err
		}
	}
	return nil
}

// Events posts the events in batches.
func (r Remote) Events(ctx context.Context, es []finding.Event) error {
	for chunk := range chunks(es, r.batch()) {
		body, err := json.Marshal(chunk)
		if err != nil {
			return err
		}
		if err := r.send(ctx, "/api/v1/events", body); err != nil {
			return err
		}
	}
	return nil
}

func (r Remote) batch() int {
	if r.Batch <= 0 {
		return DefaultBatch
	}
	return r.Batch
}

func (r Remote) send(ctx context.Context, path string, body []byte) error {
	res, err := r.Client.Send(ctx, path, body)
	if err != nil {
		return fmt.Errorf("send to kordon server: %w", err)
	}
	if len(res.Rejected) > 0 {
		return fmt.Errorf("kordon server rejected %d records, first #%d: %s", len(res.Rejected), res.Rejected[0].Index, res.Rejected[0].Error)
	}
	return nil
}

func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
