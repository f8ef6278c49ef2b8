package admission

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kordon-dev/kordon/internal/admission/governance"
)

// Metrics are the webhook's Prometheus metrics. Build them with NewMetrics
// on a registry of your own; they are safe for concurrent use.
type Metrics struct {
	reg       prometheus.Registerer
	requests  *prometheus.CounterVec
	responses *prometheus.CounterVec
	decisions *prometheus.CounterVec
	errors    *prometheus.CounterVec
	latency   prometheus.Histogram
}

// NewMetrics registers the webhook's metrics with reg:
//
//	kordon_admission_requests_total{operation,kind}
//	kordon_admission_responses_total{result}          allowed, denied, error
//	kordon_admission_decisions_total{rule,action}     one per violation
//	kordon_admission_rule_errors_total{binding}        rule evaluations that failed
//	kordon_admission_request_duration_seconds         latency histogram
//	kordon_admission_creations_in_window{user}        creation-rate counters
//	kordon_admission_creation_rate_limit              the configured limit
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_requests_total", Help: "Admission requests received, by operation and kind.",
		}, []string{"operation", "kind"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_responses_total", Help: "Admission responses, by result (allowed, denied, error).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_decisions_total", Help: "Violations found, by rule or policy ID and configured action.",
		}, []string{"rule", "action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_rule_errors_total", Help: "Requests on which a rule failed to evaluate.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kordon_admission_request_duration_seconds",
			Help:    "Time from receiving an AdmissionReview to answering it.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}),
	}
	reg.MustRegister(m.requests, m.responses, m.decisions, m.errors, m.latency)
	return m
}

func (m *Metrics) observe(operation, kind, result string, d *Decision, latency time.Duration) {
	m.requests.WithLabelValues(operation, kind).Inc()
	m.responses.WithLabelValues(result).Inc()
	m.latency.Observe(latency.Seconds())
	if d == nil {
		return
	}
	for _, v := range d.Violations {
		m.decisions.WithLabelValues(v.RuleID, string(v.Action)).Inc()
	}
	if len(d.Errors) > 0 {
		m.errors.WithLabelValues(kind).Inc()
	}
}

// watchRate exports the creation-rate counters, read at scrape time.
func (m *Metrics) watchRate(rate *governance.CreationRate, limit int) {
	m.reg.MustRegister(&rateCollector{
		rate:  rate,
		limit: float64(limit),
		creations: prometheus.NewDesc("kordon_admission_creations_in_window",
			"Objects each user created within the creation-rate window (this replica only).", []string{"user"}, nil),
		limitDesc: prometheus.NewDesc("kordon_admission_creation_rate_limit",
			"Creations per user allowed within the window.", nil, nil),
	})
}

// rateCollector reads the creation-rate counters when scraped.
type rateCollector struct {
	rate                 *governance.CreationRate
	limit                float64
	creations, limitDesc *prometheus.Desc
}

func (c *rateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.creations; ch <- c.limitDesc }

func (c *rateCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.limitDesc, prometheus.GaugeValue, c.limit)
	for user, n := range c.rate.Counts() {
		ch <- prometheus.MustNewConstMetric(c.creations, prometheus.GaugeValue, float64(n), user)
	}
}
