package apischema_test

import (
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apigen"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
)

// BenchmarkCheck judges generated requests of every operation of the
// clinic API, as a proxy would per request: valid ones, and broken ones
// (whose violations the validator locates in the specification).
func BenchmarkCheck(b *testing.B) {
	schema, data := load(b, "testdata/clinic-3.1.yaml", apischema.Options{})
	sp, err := apigen.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	g := apigen.NewGenerator(sp, 7)
	var valid, broken []apigen.Request
	for _, op := range sp.Operations() {
		for range 50 {
			valid = append(valid, g.ValidRequest(op))
		}
		broken = append(broken, g.BrokenRequests(op)...)
	}
	for _, set := range []struct {
		name string
		reqs []apigen.Request
	}{{"valid", valid}, {"broken", broken}} {
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := set.reqs[i%len(set.reqs)]
				req, body := r.HTTP()
				schema.Check(req, body)
				i++
			}
		})
	}
}
