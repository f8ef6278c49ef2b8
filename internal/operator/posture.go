package operator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/posture"
)

// EnginePosture is the engine name the posture loop's findings carry in
// the store.
const EnginePosture = "scan"

// Posture is one posture scan cycle of the live cluster: load it, judge
// it, send the findings and keep the reports. It is not safe for
// concurrent cycles.
type Posture struct {
	RESTConfig *rest.Config
	Checks     posture.Checks
	Options    posture.Options
	// Sink receives the findings of every cycle; nil sends nothing.
	Sink sink.Sink
	// Reports keeps the findings as OpenReports; nil writes none.
	Reports *reports.Writer
	Layout  reports.Layout
	Metrics *Metrics
	Logger  *slog.Logger
}

// CycleResult is what one cycle did.
type CycleResult struct {
	Objects  int
	Findings []finding.Finding
	Reports  reports.Stats
	// Skipped are the load warnings (kinds not served or not allowed).
	Skipped []string
	// Phases are how long the cycle's parts took: load (list the
	// cluster), judge (rules), store (the sink) and reports.
	Phases Phases
}

// Phases are the durations of a posture cycle's parts.
type Phases struct {
	Load, Judge, Store, Reports time.Duration
}

// Cycle runs one scan. Kinds that cannot be listed are skipped and
// logged (they are in CycleResult.Skipped); a failure to send or to write
// reports is returned after the other sink was tried.
func (p *Posture) Cycle(ctx context.Context) (CycleResult, error) {
	start := time.Now()
	log := p.logger()
	res, err := p.cycle(ctx, log)
	if p.Metrics != nil {
		p.Metrics.CycleSeconds.WithLabelValues("posture").Observe(time.Since(start).Seconds())
		p.Metrics.Cycles.WithLabelValues("posture", outcome(err)).Inc()
		if err == nil {
			p.Metrics.Objects.WithLabelValues("posture").Set(float64(res.Objects))
			setSeverities(p.Metrics, "posture", res.Findings)
			addReportStats(p.Metrics, p.scope(), res.Reports)
		}
	}
	if err == nil {
		log.InfoContext(ctx, "posture cycle", "objects", res.Objects, "findings", len(res.Findings),
			"reports_created", res.Reports.Created, "reports_updated", res.Reports.Updated,
			"reports_unchanged", res.Reports.Unchanged, "reports_deleted", res.Reports.Deleted,
			"load", res.Phases.Load.Round(time.Millisecond), "judge", res.Phases.Judge.Round(time.Millisecond),
			"store", res.Phases.Store.Round(time.Millisecond), "write_reports", res.Phases.Reports.Round(time.Millisecond),
			"took", time.Since(start).Round(time.Millisecond))
	}
	return res, err
}

func (p *Posture) cycle(ctx context.Context, log *slog.Logger) (CycleResult, error) {
	var res CycleResult
	t := time.Now()
	lap := func(d *time.Duration) { now := time.Now(); *d = now.Sub(t); t = now }
	loaded, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: p.RESTConfig, Logger: log})
	if err != nil {
		return res, fmt.Errorf("load cluster: %w", err)
	}
	lap(&res.Phases.Load)
	for _, w := range loaded.Warnings {
		res.Skipped = append(res.Skipped, w.Error())
	}
	rep, err := posture.Scan(ctx, p.Checks, loaded, p.Options)
	if err != nil {
		return res, fmt.Errorf("scan: %w", err)
	}
	res.Objects = rep.Summary.Resources
	res.Findings = rep.Findings
	lap(&res.Phases.Judge)
	now := time.Now()
	var errs []error
	if p.Sink != nil {
		if err := p.Sink.Findings(ctx, EnginePosture, now, rep.Findings); err != nil {
			errs = append(errs, err)
		}
	}
	lap(&res.Phases.Store)
	if p.Reports != nil {
		st, err := p.Reports.Sync(ctx, reports.Build(p.Reports.Scope, rep.Findings, now, p.Layout))
		res.Reports = st
		if err != nil {
			errs = append(errs, err)
		}
	}
	lap(&res.Phases.Reports)
	return res, joinErrors(errs)
}

func (p *Posture) scope() string {
	if p.Reports == nil {
		return ""
	}
	return p.Reports.Scope
}

func (p *Posture) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}
