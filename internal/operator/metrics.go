package operator

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the operator's Prometheus metrics. Make them with
// NewMetrics; they are safe for concurrent use.
type Metrics struct {
	Cycles        *prometheus.CounterVec
	CycleSeconds  *prometheus.HistogramVec
	Findings      *prometheus.GaugeVec
	ReportWrites  *prometheus.CounterVec
	Objects       *prometheus.GaugeVec
	WatchTriggers prometheus.Counter
}

// NewMetrics makes the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_operator_cycles_total",
			Help: "Scan and drift cycles run, by loop (posture, drift) and result (ok, error)."}, []string{"loop", "result"}),
		CycleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kordon_operator_cycle_duration_seconds",
			Help:    "Duration of a scan or drift cycle.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"loop"}),
		Findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kordon_operator_findings",
			Help: "Findings of the last cycle, by loop and severity."}, []string{"loop", "severity"}),
		ReportWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_operator_report_writes_total",
			Help: "OpenReports report objects handled, by scope and outcome (created, updated, unchanged, deleted)."}, []string{"scope", "outcome"}),
		Objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kordon_operator_objects",
			Help: "Objects judged in the last cycle, by loop."}, []string{"loop"}),
		WatchTriggers: prometheus.NewCounter(prometheus.CounterOpts{Name: "kordon_operator_watch_events_total",
			Help: "Watch events that asked for a posture scan (debounced into fewer cycles)."}),
	}
	for i, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors()[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

// Unregister removes the metrics from reg (a process-wide registry that
// outlives one Run).
func (m *Metrics) Unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors() {
		reg.Unregister(c)
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Cycles, m.CycleSeconds, m.Findings, m.ReportWrites, m.Objects, m.WatchTriggers}
}
