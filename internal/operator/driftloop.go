package operator

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/operator/drift"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
)

// EngineDrift is the engine name of drift findings and events.
const EngineDrift = rules.EngineDrift

// DriftLoop compares the live cluster with a baseline every Interval:
// drift findings go to the sink and the "drift" reports, and an event is
// sent when an object starts or stops drifting. Cycles must not run
// concurrently.
type DriftLoop struct {
	Baseline  drift.Baseline
	Detector  *drift.Detector
	Catalogue *rules.Catalogue
	Interval  time.Duration
	Sink      sink.Sink
	Reports   *reports.Writer
	Layout    reports.Layout
	Metrics   *Metrics
	Logger    *slog.Logger

	// last holds the drifted objects of the previous cycle (resource →
	// rule ID), to send events on changes only.
	last map[finding.Resource]string
}

// DriftResult is what one drift cycle found.
type DriftResult struct {
	Revision string
	Findings []finding.Finding
	Events   []finding.Event
	InSync   int
	// Errors are the baseline parts that could not be loaded or compared.
	Errors  []finding.Problem
	Reports reports.Stats
}

// Cycle loads the baseline, compares it and reports.
func (d *DriftLoop) Cycle(ctx context.Context) (DriftResult, error) {
	start := time.Now()
	res, err := d.cycle(ctx)
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	if m := d.Metrics; m != nil {
		m.CycleSeconds.WithLabelValues("drift").Observe(time.Since(start).Seconds())
		m.Cycles.WithLabelValues("drift", outcome(err)).Inc()
		if err == nil {
			m.Objects.WithLabelValues("drift").Set(float64(res.InSync + len(res.Findings)))
			setSeverities(m, "drift", res.Findings)
			if d.Reports != nil {
				addReportStats(m, d.Reports.Scope, res.Reports)
			}
		}
	}
	for _, p := range res.Errors {
		log.WarnContext(ctx, "baseline object not compared", "file", p.File, "line", p.Line, "err", p.Message)
	}
	if err == nil {
		log.InfoContext(ctx, "drift cycle", "revision", res.Revision, "drifted", len(res.Findings),
			"in_sync", res.InSync, "errors", len(res.Errors), "took", time.Since(start).Round(time.Millisecond))
	}
	return res, err
}

func (d *DriftLoop) cycle(ctx context.Context) (DriftResult, error) {
	var res DriftResult
	if d.Interval > 0 {
		// A cycle (a slow clone, a hung server) never outlasts its period.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Interval)
		defer cancel()
	}
	loaded, rev, err := d.Baseline.Load(ctx)
	if err != nil {
		return res, err
	}
	res.Revision = rev
	for _, e := range loaded.Errors {
		res.Errors = append(res.Errors, finding.Problem{File: e.File, Line: e.Line, Message: e.Err.Error()})
	}
	cmp, err := d.Detector.Compare(ctx, loaded.Objects)
	if err != nil {
		return res, err
	}
	res.InSync = cmp.InSync
	res.Errors = append(res.Errors, cmp.Errors...)
	res.Findings, err = drift.Findings(d.Catalogue, cmp.Drifted, shortRev(rev))
	if err != nil {
		return res, err
	}
	now := time.Now().UTC()
	res.Events = d.changes(res.Findings, now, rev)
	var errs []error
	if d.Sink != nil {
		if err := d.Sink.Findings(ctx, EngineDrift, now, res.Findings); err != nil {
			errs = append(errs, err)
		}
		if len(res.Events) > 0 {
			if err := d.Sink.Events(ctx, res.Events); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if d.Reports != nil {
		st, err := d.Reports.Sync(ctx, reports.Build(d.Reports.Scope, res.Findings, now, d.Layout))
		res.Reports = st
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(loaded.Errors) > 0 && len(loaded.Objects) == 0 {
		errs = append(errs, fmt.Errorf("baseline %s: no object could be loaded (%d errors)", rev, len(loaded.Errors)))
	}
	return res, joinErrors(errs)
}

// changes returns the events for objects that started drifting (action
// observed, state drifted or missing) or stopped (state resolved) since
// the last cycle, and remembers this cycle's drift.
func (d *DriftLoop) changes(fs []finding.Finding, now time.Time, rev string) []finding.Event {
	cur := make(map[finding.Resource]string, len(fs))
	var events []finding.Event
	for _, f := range fs {
		cur[f.Resource] = f.RuleID
		if d.last[f.Resource] == f.RuleID {
			continue
		}
		state := "drifted"
		if f.RuleID == drift.RuleMissing {
			state = "missing"
		}
		events = append(events, finding.Event{Time: now, Engine: EngineDrift, Action: finding.ActionObserved, Finding: f,
			Attributes: map[string]string{"drift.state": state, "drift.revision": rev}})
	}
	for r, id := range d.last {
		if _, still := cur[r]; still {
			continue
		}
		events = append(events, finding.Event{Time: now, Engine: EngineDrift, Action: finding.ActionObserved,
			Finding: finding.Finding{RuleID: id, Title: "Drift resolved", Severity: finding.Info, Resource: r,
				Message: r.String() + " matches the baseline again (" + shortRev(rev) + ")"},
			Attributes: map[string]string{"drift.state": "resolved", "drift.revision": rev}})
	}
	d.last = cur
	return events
}

func shortRev(rev string) string {
	if len(rev) == 40 && !strings.ContainsAny(rev, "/.") {
		return rev[:12]
	}
	return rev
}
