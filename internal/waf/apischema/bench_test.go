package apischema_test

import (
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apigen"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
)

// BenchmarkCheck judges generated requests of every operation of the
// clinic API, valid and broken ones alternately, as a proxy would per
// request.
func BenchmarkCheck(b *testing.B) {
	schema, data := load(b, "testdata/clinic-3.1.yaml", apischema.Options{})
	sp, err := apigen.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	g := apigen.NewGenerator(sp, 7)
	var reqs []apigen.Request
	for _, op := range sp.Operations() {
		for range 50 {
			reqs = append(reqs, g.ValidRequest(op))
		}
		reqs = append(reqs, g.BrokenRequests(op)...)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		req, body := r.HTTP()
		schema.Check(req, body)
		i++
	}
}
