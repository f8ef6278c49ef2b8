package lint

import (
	"math/rand/v2"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

// BenchmarkLint lints a generated cluster of 1,000 workloads and 1,000
// policies.
func BenchmarkLint(b *testing.B) {
	c := synth.Scaled(rand.New(rand.NewPCG(1, 1000)), 1000, 1000)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(mustRun(b, c).Findings)
	}
	b.ReportMetric(float64(n), "findings")
}
