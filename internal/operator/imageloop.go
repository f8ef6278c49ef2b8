package operator

import (
	"context"
	"log/slog"
	"time"

	"github.com/kordon-dev/kordon/internal/operator/imagescan"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
)

// EngineImage is the engine name of image findings in the store.
const EngineImage = rules.EngineImage

// ImageLoop checks every Interval whether the vulnerability database or
// the running images changed, and then rescans: findings go to the sink
// and the "images" reports. Cycles must not run concurrently.
type ImageLoop struct {
	Rescanner *imagescan.Rescanner
	Interval  time.Duration
	Sink      sink.Sink
	Reports   *reports.Writer
	Layout    reports.Layout
	Metrics   *Metrics
	Logger    *slog.Logger
}

// Cycle runs one check and, when due, one rescan.
func (l *ImageLoop) Cycle(ctx context.Context) (imagescan.Result, error) {
	start := time.Now()
	res, err := l.Rescanner.Cycle(ctx)
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	if err == nil && !res.Skipped {
		now := time.Now()
		var errs []error
		if l.Sink != nil {
			if err := l.Sink.Findings(ctx, EngineImage, now, res.Findings); err != nil {
				errs = append(errs, err)
			}
		}
		if l.Reports != nil {
			st, err := l.Reports.Sync(ctx, reports.Build(l.Reports.Scope, res.Findings, now, l.Layout))
			if err != nil {
				errs = append(errs, err)
			}
			if l.Metrics != nil {
				addReportStats(l.Metrics, l.Reports.Scope, st)
			}
		}
		err = joinErrors(errs)
	}
	if m := l.Metrics; m != nil && !res.Skipped {
		m.CycleSeconds.WithLabelValues("images").Observe(time.Since(start).Seconds())
		m.Cycles.WithLabelValues("images", outcome(err)).Inc()
		if err == nil {
			m.Objects.WithLabelValues("images").Set(float64(res.Images))
			setSeverities(m, "images", res.Findings)
		}
	}
	for _, p := range res.Errors {
		log.WarnContext(ctx, "image rescan problem", "image", p.File, "err", p.Message)
	}
	if err == nil && !res.Skipped {
		log.InfoContext(ctx, "image rescan", "images", res.Images, "from_cache", res.Cached, "findings", len(res.Findings),
			"took", time.Since(start).Round(time.Millisecond))
	}
	return res, err
}
