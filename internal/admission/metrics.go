package admission

import (
	"fmt"
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

// NewMetrics registers the webhook's metrics with reg. Every label has a
// bounded set of values: operations and kinds outside the known sets
// (knownKinds) are counted as "other", rules are catalogue IDs, and no
// label names a user.
//
//	kordon_admission_requests_total{operation,kind}
//	kordon_admission_responses_total{result}          allowed, denied, error, malformed, shed
//	kordon_admission_decisions_total{rule,action}     one per violation
//	kordon_admission_rule_errors_total{kind}          requests on which a rule failed
//	kordon_admission_request_duration_seconds         latency histogram
//	kordon_admission_creation_rate_users{limit}             users counted in the window
//	kordon_admission_creation_rate_users_over_limit{limit}  of them, those at or over their limit
//	kordon_admission_creation_rate_limit{limit}             the configured limit
//
// limit is "default" or "limits[i]" (governance.creationRate.limits[i]).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_requests_total", Help: "Admission requests received, by operation and kind.",
		}, []string{"operation", "kind"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kordon_admission_responses_total", Help: "Admission responses, by result (allowed, denied, error: undecided, malformed: refused review, shed: refused unread).",
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

// knownKinds are the group/Kind label values of
// kordon_admission_requests_total and rule_errors_total: the kinds the
// installed webhook configuration sends. Others count as "other".
var knownKinds = map[[2]string]string{}

func init() {
	for _, gk := range [][2]string{
		{"", "Pod"}, {"", "PodTemplate"}, {"", "ReplicationController"}, {"", "Service"}, {"", "Namespace"},
		{"", "ConfigMap"}, {"", "Secret"}, {"", "ServiceAccount"},
		{"apps", "Deployment"}, {"apps", "StatefulSet"}, {"apps", "DaemonSet"}, {"apps", "ReplicaSet"},
		{"batch", "Job"}, {"batch", "CronJob"},
		{"networking.k8s.io", "NetworkPolicy"}, {"networking.k8s.io", "Ingress"},
		{"rbac.authorization.k8s.io", "Role"}, {"rbac.authorization.k8s.io", "RoleBinding"},
		{"rbac.authorization.k8s.io", "ClusterRole"}, {"rbac.authorization.k8s.io", "ClusterRoleBinding"},
	} {
		label := gk[1]
		if gk[0] != "" {
			label = gk[0] + "/" + gk[1]
		}
		knownKinds[gk] = label
	}
}

// kindLabel is the metric label of a group and kind: group/Kind (Kind for
// the core group) for a known kind, else "other".
func kindLabel(group, kind string) string {
	if l, ok := knownKinds[[2]string{group, kind}]; ok {
		return l
	}
	return "other"
}

func operationLabel(op string) string {
	switch op {
	case "CREATE", "UPDATE", "DELETE", "CONNECT":
		return op
	}
	return "other"
}

func (m *Metrics) observe(operation, group, kind, result string, d *Decision, latency time.Duration) {
	kind = kindLabel(group, kind)
	m.requests.WithLabelValues(operationLabel(operation), kind).Inc()
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

// watchRate exports the creation-rate counters per configured limit (the
// default and each limits entry: a label set the configuration bounds),
// summed over users (a series per user would grow without bound and
// expose user names), read at scrape time. The decision log names the
// users the policy flags.
func (m *Metrics) watchRate(rate *governance.CreationRate) {
	labels := []string{"limit"}
	m.reg.MustRegister(&rateCollector{
		rate: rate,
		users: prometheus.NewDesc("kordon_admission_creation_rate_users",
			"Users with creations counted in the creation-rate window, by the limit that applies to them (this replica only).", labels, nil),
		over: prometheus.NewDesc("kordon_admission_creation_rate_users_over_limit",
			"Users at or over the limit that applies to them in the creation-rate window (this replica only).", labels, nil),
		limitDesc: prometheus.NewDesc("kordon_admission_creation_rate_limit",
			"Creations allowed within the window, by limit: default, or limits[i] for governance.creationRate.limits[i].", labels, nil),
	})
}

// rateCollector reads the creation-rate counters when scraped.
type rateCollector struct {
	rate                   *governance.CreationRate
	users, over, limitDesc *prometheus.Desc
}

func (c *rateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.users
	ch <- c.over
	ch <- c.limitDesc
}

func (c *rateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range c.rate.Usage() {
		label := "default"
		if u.Entry >= 0 {
			label = fmt.Sprintf("limits[%d]", u.Entry)
		}
		ch <- prometheus.MustNewConstMetric(c.limitDesc, prometheus.GaugeValue, float64(u.Limit), label)
		ch <- prometheus.MustNewConstMetric(c.users, prometheus.GaugeValue, float64(u.Users), label)
		ch <- prometheus.MustNewConstMetric(c.over, prometheus.GaugeValue, float64(u.OverLimit), label)
	}
}
