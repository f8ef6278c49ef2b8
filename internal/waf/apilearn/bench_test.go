package apilearn_test

import (
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apilearn"
	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

// BenchmarkLearn learns generated clinic traffic, one request per
// iteration, and drafts the specification at the end.
func BenchmarkLearn(b *testing.B) {
	reqs := clinicTraffic(b, 400)
	recs := make([]traffic.Record, len(reqs))
	for i, r := range reqs {
		recs[i] = record(r)
	}
	b.ReportAllocs()
	l := apilearn.New(apilearn.Options{BasePath: "/api/v1"})
	i := 0
	for b.Loop() {
		l.Add(recs[i%len(recs)])
		i++
	}
	if _, err := l.YAML(); err != nil {
		b.Fatal(err)
	}
}
