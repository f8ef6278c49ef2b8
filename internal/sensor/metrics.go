package sensor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sensor's Prometheus metrics, registered on a registry
// of the caller's (no global state).
type Metrics struct {
	Events       *prometheus.CounterVec
	RingDrops    prometheus.Counter
	KernelFolded *prometheus.CounterVec
	// KernelSuppressed are records the kernel's per-cgroup limits kept
	// out of the ring buffer, by kind (open, network) and reason
	// (rate-limit, dedup).
	KernelSuppressed *prometheus.CounterVec
	RateLimitDrops   *prometheus.CounterVec
	ProfileFull      prometheus.Counter
	Untracked        prometheus.Gauge
	Alerts           *prometheus.CounterVec
	Profiles         *prometheus.GaugeVec
	ResponseErrors   prometheus.Counter
	RuleErrors       prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_sensor_events_total",
			Help: "Kernel events processed, by kind."}, []string{"kind"}),
		RingDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "kordon_sensor_ringbuf_drops_total",
			Help: "Events lost because the ring buffer was full (counted in the kernel)."}),
		KernelFolded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_sensor_kernel_folded_total",
			Help: "Repeated events folded in the kernel instead of reported each (open: identical opens, carried in a record's repeats; capability: checks already reported for the process), by kind."}, []string{"kind"}),
		KernelSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_sensor_kernel_suppressed_total",
			Help: "Records the kernel's per-workload limits did not report, by kind (open, network) and reason (rate-limit: over the cgroup's token bucket, lost; dedup: an identical open reported within the window, carried by its next report)."}, []string{"kind", "reason"}),
		RateLimitDrops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_sensor_ratelimit_drops_total",
			Help: "Alerts not reported because their rule and workload exceeded the rate limit."}, []string{"rule"}),
		ProfileFull: prometheus.NewCounter(prometheus.CounterOpts{Name: "kordon_sensor_profile_overflow_total",
			Help: "Profile entries not learned because the workload's profile reached its bound."}),
		Untracked: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kordon_sensor_untracked_events",
			Help: "Events of workloads beyond the profile limit (not profiled)."}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_sensor_alerts_total",
			Help: "Rule matches and deviations reported, by rule and action taken."}, []string{"rule", "action"}),
		Profiles: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kordon_sensor_profiles",
			Help: "Workload profiles, by state."}, []string{"state"}),
		ResponseErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kordon_sensor_response_errors_total",
			Help: "Kills and pod deletions that failed."}),
		RuleErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kordon_sensor_rule_errors_total",
			Help: "Rule evaluations that failed."}),
	}
	if reg != nil {
		reg.MustRegister(m.Events, m.RingDrops, m.KernelFolded, m.KernelSuppressed, m.RateLimitDrops, m.ProfileFull, m.Untracked, m.Alerts, m.Profiles, m.ResponseErrors, m.RuleErrors)
	}
	return m
}
