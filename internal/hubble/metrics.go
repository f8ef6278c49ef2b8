package hubble

import (
	"github.com/prometheus/client_golang/prometheus"
)

// counterDesc names a Stats field as a Prometheus counter.
type counterDesc struct {
	desc  *prometheus.Desc
	value func(Stats) uint64
}

// Collector returns a Prometheus collector of the follower's Stats, as
// counters named kordon_server_hubble_*_total, read when scraped.
func (f *Follower) Collector() prometheus.Collector {
	labels := prometheus.Labels{"server": f.o.Addr}
	d := func(name, help string, v func(Stats) uint64) counterDesc {
		return counterDesc{desc: prometheus.NewDesc("kordon_server_hubble_"+name+"_total", help, nil, labels), value: v}
	}
	return statsCollector{f: f, counters: []counterDesc{
		d("responses", "Responses received from Hubble (flows and notices).", func(s Stats) uint64 { return s.Received }),
		d("flows", "Hubble flows stored as Flow events.", func(s Stats) uint64 { return s.Flows }),
		d("skipped", "Hubble flows left out: replies and flows without a transport port.", func(s Stats) uint64 { return s.Skipped }),
		d("duplicates", "Hubble flows sent again after a resume and dropped.", func(s Stats) uint64 { return s.Duplicates }),
		d("rejected", "Hubble flows refused by the event checks (time far ahead).", func(s Stats) uint64 { return s.Rejected }),
		d("lost", "Flows Hubble reported lost (LostEvents).", func(s Stats) uint64 { return s.Lost }),
		d("gaps", "Gap events stored (lost events, server restarts, unavailable nodes).", func(s Stats) uint64 { return s.Gaps }),
		d("reconnects", "Streams from Hubble that ended and were resumed.", func(s Stats) uint64 { return s.Reconnects }),
		d("store_errors", "Batches of Hubble flows the store refused (read again after a reconnect).", func(s Stats) uint64 { return s.StoreErrors }),
	}}
}

type statsCollector struct {
	f        *Follower
	counters []counterDesc
}

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d.desc
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.f.Stats()
	for _, d := range c.counters {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.value(s)))
	}
}
