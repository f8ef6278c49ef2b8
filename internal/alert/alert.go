// Package alert raises alerts from stored records: rules select records
// with a CEL filter (the query language of internal/store/query), count
// them per key over a sliding window, fire when a count reaches the
// rule's threshold, and stay quiet for the same key until the throttle
// has passed. Alerts go to notifiers (one file per notifier). Rules and
// notifiers are documented in docs/server.md.
package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/query"
)

// RuleSpec is an alert rule as configured.
type RuleSpec struct {
	Name string `json:"name"`
	// Filter is a CEL filter over records (docs/server.md).
	Filter string `json:"filter"`
	// Threshold is how many matching records with one key within Window
	// fire the alert (default 1: every match).
	Threshold int `json:"threshold,omitempty"`
	// Window is the sliding window of the threshold (default 5m).
	Window Duration `json:"window,omitempty"`
	// Key names the fields whose values tell alerts apart (dedup): the
	// group-by fields of queries. Empty: one key for the whole rule.
	Key []string `json:"key,omitempty"`
	// Throttle is how long an alert of one key stays quiet after it fired
	// (default: the window).
	Throttle Duration `json:"throttle,omitempty"`
}

// Duration is a time.Duration written as "5m" in configuration.
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Alert is one firing of a rule for one key.
type Alert struct {
	Rule string `json:"rule"`
	// Key holds the values of the rule's key fields.
	Key map[string]string `json:"key"`
	// Count is the number of matching records in the window when it fired.
	Count     int              `json:"count"`
	Threshold int              `json:"threshold"`
	Window    string           `json:"window"`
	Severity  finding.Severity `json:"severity"`
	// First and Last are the times of the first and last records counted.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Event is the record that made the count reach the threshold.
	Event finding.Event `json:"event"`
}

// Summary is a one-line description of the alert.
func (a *Alert) Summary() string {
	var keys []string
	for _, k := range sortedKeys(a.Key) {
		keys = append(keys, k+"="+a.Key[k])
	}
	s := fmt.Sprintf("%s: %d matching records in %s", a.Rule, a.Count, a.Window)
	if len(keys) > 0 {
		s += " (" + strings.Join(keys, ", ") + ")"
	}
	return s + ": " + a.Event.Message
}

type rule struct {
	spec  RuleSpec
	q     *query.Query
	keyBy []string
	state map[string]*keyState
}

type keyState struct {
	times     []time.Time // of the matches in the window, oldest first
	quietTill time.Time
}

// maxKeys bounds the keys one rule tracks; the oldest are dropped.
const maxKeys = 100000

// Engine evaluates alert rules on records as they are stored. It is safe
// for concurrent use.
type Engine struct {
	mu    sync.Mutex
	rules []*rule
}

// NewEngine compiles the rules; an error names the rule.
func NewEngine(env *query.Env, specs []RuleSpec) (*Engine, error) {
	e := &Engine{}
	seen := map[string]bool{}
	for i, s := range specs {
		if s.Name == "" {
			return nil, fmt.Errorf("alert rule %d: name missing", i+1)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("alert rule %s: name used twice", s.Name)
		}
		seen[s.Name] = true
		if s.Threshold == 0 {
			s.Threshold = 1
		}
		if s.Threshold < 0 || s.Threshold > 1000000 {
			return nil, fmt.Errorf("alert rule %s: threshold %d: want 1 to 1000000", s.Name, s.Threshold)
		}
		if s.Window.Duration == 0 {
			s.Window.Duration = 5 * time.Minute
		}
		if s.Window.Duration < 0 || s.Throttle.Duration < 0 {
			return nil, fmt.Errorf("alert rule %s: negative window or throttle", s.Name)
		}
		if s.Throttle.Duration == 0 {
			s.Throttle = s.Window
		}
		// The key fields are checked as group-by fields of a query.
		q, err := query.Compile(env, query.Spec{Filter: s.Filter, GroupBy: s.Key})
		if err != nil {
			return nil, fmt.Errorf("alert rule %s: %w", s.Name, err)
		}
		e.rules = append(e.rules, &rule{spec: s, q: q, keyBy: s.Key, state: map[string]*keyState{}})
	}
	return e, nil
}

// Observe evaluates the rules on newly stored records (in time order
// within the batch) and returns the alerts they fire.
func (e *Engine) Observe(ctx context.Context, recs []store.Record) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, r := range e.rules {
		for i := range recs {
			rec := &recs[i]
			ok, err := r.q.Matches(ctx, rec)
			if err != nil || !ok {
				continue
			}
			if a := r.count(rec); a != nil {
				out = append(out, *a)
			}
		}
	}
	return out
}

func (r *rule) count(rec *store.Record) *Alert {
	t := rec.Event.Time
	vals := make([]string, len(r.keyBy))
	for i, k := range r.keyBy {
		vals[i] = query.FieldValue(rec, k)
	}
	k := strings.Join(vals, "\x00")
	st := r.state[k]
	if st == nil {
		if len(r.state) >= maxKeys {
			for old := range r.state { // drop an arbitrary key to stay bounded
				delete(r.state, old)
				break
			}
		}
		st = &keyState{}
		r.state[k] = st
	}
	// Slide the window.
	cut := t.Add(-r.spec.Window.Duration)
	n := 0
	for n < len(st.times) && !st.times[n].After(cut) {
		n++
	}
	st.times = append(st.times[n:], t)
	if len(st.times) > r.spec.Threshold {
		st.times = st.times[len(st.times)-r.spec.Threshold:]
	}
	if len(st.times) < r.spec.Threshold || t.Before(st.quietTill) {
		return nil
	}
	st.quietTill = t.Add(r.spec.Throttle.Duration)
	a := &Alert{Rule: r.spec.Name, Key: map[string]string{}, Count: len(st.times), Threshold: r.spec.Threshold,
		Window: r.spec.Window.String(), Severity: rec.Event.Severity, First: st.times[0], Last: t, Event: rec.Event}
	for i, f := range r.keyBy {
		a.Key[f] = vals[i]
	}
	st.times = st.times[:0]
	return a
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
