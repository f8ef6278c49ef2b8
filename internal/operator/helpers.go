package operator

import (
	"errors"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/operator/reports"
)

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

func setSeverities(m *Metrics, loop string, fs []finding.Finding) {
	counts := map[finding.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	for _, s := range finding.Severities() {
		m.Findings.WithLabelValues(loop, s.String()).Set(float64(counts[s]))
	}
}

func addReportStats(m *Metrics, scope string, st reports.Stats) {
	if scope == "" {
		return
	}
	m.ReportWrites.WithLabelValues(scope, "created").Add(float64(st.Created))
	m.ReportWrites.WithLabelValues(scope, "updated").Add(float64(st.Updated))
	m.ReportWrites.WithLabelValues(scope, "unchanged").Add(float64(st.Unchanged))
	m.ReportWrites.WithLabelValues(scope, "deleted").Add(float64(st.Deleted))
}

func joinErrors(errs []error) error { return errors.Join(errs...) }
