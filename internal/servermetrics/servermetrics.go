// Package servermetrics exposes kordon server's Prometheus metrics: HTTP
// requests by route and status code with their latency, and the size of
// the store (records, bytes) read when scraped.
package servermetrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kordon-dev/kordon/internal/store"
)

// Metrics holds a registry with the server's metrics. Make it with New; it
// is safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// New makes the metrics; st, when not nil, is asked for its Stats on
// every scrape (bounded by a 5 s timeout).
func New(st store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kordon_server_http_requests_total",
			Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kordon_server_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.seconds, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st != nil {
		m.reg.MustRegister(statsCollector{st: st})
	}
	return m
}

// Register adds collectors of other parts of the server (such as the
// Hubble follower's counts) to the metrics served.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Wrap counts and times the requests h answers. Routes are the API paths
// (/api/v1/events, ...); any other path counts as "other", so that
// scanners probing random paths cannot grow the label set.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		route := route(r.URL.Path)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.seconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

var routes = []string{"/api/v1/events", "/api/v1/findings", "/api/v1/flows", "/api/v1/query", "/api/v1/stats", "/healthz"}

func route(p string) string {
	for _, r := range routes {
		if p == r || strings.HasPrefix(p, r+"?") {
			return r
		}
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var (
	recordsDesc = prometheus.NewDesc("kordon_server_store_records", "Records (findings and events) the store holds.", nil, nil)
	bytesDesc   = prometheus.NewDesc("kordon_server_store_bytes", "Bytes the store's database uses.", nil, nil)
)

// statsCollector reads the store's size when scraped.
type statsCollector struct{ st store.Store }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- recordsDesc; ch <- bytesDesc }

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.st.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(recordsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.GaugeValue, float64(s.Records))
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(s.Bytes))
}
