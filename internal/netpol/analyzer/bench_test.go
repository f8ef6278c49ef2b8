package analyzer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

// BenchmarkAnalyze measures the full connectivity of generated clusters:
// analysis plus a walk over every pair of endpoints (Count). Run with
//
//	go test -run XXX -bench Analyze -benchtime 3x ./internal/netpol/analyzer/
func BenchmarkAnalyze(b *testing.B) {
	for _, size := range []struct{ workloads, policies int }{{1000, 1000}, {1000, 2000}, {10000, 10000}} {
		b.Run(fmt.Sprintf("workloads=%d/policies=%d", size.workloads, size.policies), func(b *testing.B) {
			c := synth.Scaled(rand.New(rand.NewPCG(1, uint64(size.workloads))), size.workloads, size.policies)
			b.ReportAllocs()
			var conns int
			for b.Loop() {
				r := Analyze(c, Options{})
				conns = r.Count()
			}
			b.ReportMetric(float64(conns), "connections")
		})
	}
}

// TestScaledAgainstReference spot-checks the analyzer on a generated
// cluster of the benchmark's shape (smaller), so that benchmarks measure a
// correct computation.
func TestScaledAgainstReference(t *testing.T) {
	c := synth.Scaled(rand.New(rand.NewPCG(2, 3)), 30, 30)
	compare(t, c)
}
