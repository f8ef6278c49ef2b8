package intel

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// BenchmarkEnrich checks 100,000 realistic events (55% flows with source
// and destination addresses, WAF events with client addresses) against
// 1,000,000 indicators: 900,000 addresses, 90,000 CIDR ranges of lengths
// /16 to /30 and 10,000 domains. One op is the whole batch.
func BenchmarkEnrich(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := NewSet()
	ip4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(11 + rnd.IntN(200)), byte(rnd.IntN(256)), byte(rnd.IntN(256)), byte(rnd.IntN(256))})
	}
	for range 900000 {
		s.Add(Indicator{Type: TypeIP, Value: ip4().String(), Feed: "bench", Severity: finding.High})
	}
	for range 90000 {
		bits := 16 + rnd.IntN(15)
		p, _ := ip4().Prefix(bits)
		s.Add(Indicator{Type: TypeCIDR, Value: p.String(), Feed: "bench", Severity: finding.Medium})
	}
	for i := range 10000 {
		s.Add(Indicator{Type: TypeDomain, Value: fmt.Sprintf("d%d.bad.example", i), Feed: "bench", Severity: finding.High})
	}
	e := NewEnricher()
	e.Replace(s)
	recs := storetest.New(3, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Millisecond, 50).Batch(100000)
	// Public destinations for a tenth of the flows, so that some match.
	for i := range recs {
		if recs[i].Event.Engine == "flow" && i%10 == 0 {
			recs[i].Event.Attributes["dst"] = ip4().String()
		}
	}
	b.ReportAllocs()
	var matches int
	for b.Loop() {
		batch := make([]store.Record, len(recs))
		copy(batch, recs)
		matches = len(e.Enrich(batch))
	}
	b.ReportMetric(float64(s.Len()), "indicators")
	b.ReportMetric(float64(matches), "matches")
}
