// Package sensor runs Kordon's runtime protection on one node: it reads
// kernel events (internal/sensor/bpf) or a recorded stream, names each
// event's executable and workload (internal/sensor/attribution), learns
// and checks baselines (internal/sensor/baseline), evaluates runtime rules
// (internal/sensor/detect), responds (internal/sensor/response) and emits
// finding.Events. Loss is never silent: ring-buffer drops, rate-limited
// alerts and full profiles are counted in Prometheus metrics and reported
// as events (KOR-RT-190, 191, 192).
package sensor
