package posture

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/testgen"
)

func builtinRuleSet(b *testing.B) *rules.RuleSet {
	b.Helper()
	all, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkScan10k scans 10,000 generated objects (testgen.Realistic:
// namespaces of about 1,000 objects) with every built-in rule:
// evaluation, exceptions, sorting and scores (loading excluded).
func BenchmarkScan10k(b *testing.B) { benchmarkScan(b, 10000, testgen.Realistic) }

// scale100k adds 100,000 objects to BenchmarkScanSize (about 2 GB of heap
// and minutes per run; make bench-scale sets it).
var scale100k = flag.Bool("scale100k", false, "BenchmarkScanSize: scan 100,000 objects too")

// BenchmarkScanSize scans generated clusters of growing size; the time per
// object must stay flat (no part of a scan may grow faster than its input).
// 100,000 objects only with -scale100k (make bench-scale).
func BenchmarkScanSize(b *testing.B) {
	sizes := []int{3000, 10000, 30000}
	if *scale100k {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) { benchmarkScan(b, n, testgen.Realistic) })
	}
	b.Run("objects=10000/namespaces-of-40", func(b *testing.B) { benchmarkScan(b, 10000, testgen.Small) })
}

func benchmarkScan(b *testing.B, n int, shape testgen.Shape) {
	rs := builtinRuleSet(b)
	loaded := &k8s.Loaded{Objects: testgen.Generate(n, 1, shape)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Scan(context.Background(), Checks{Rules: rs}, loaded, Options{UseAnnotations: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Findings) == 0 || len(rep.Errors) > 0 {
			b.Fatalf("%d findings, %d errors", len(rep.Findings), len(rep.Errors))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/object")
	b.ReportMetric(float64(rs.Len()), "rules")
}

// BenchmarkDecode10k decodes 10,000 generated objects from one YAML stream.
func BenchmarkDecode10k(b *testing.B) {
	data := testgen.YAML(testgen.Objects(10000, 1))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		objs, errs := k8s.Decode(data, "bench.yaml")
		if len(errs) > 0 || len(objs) != 10000 {
			b.Fatalf("decoded %d objects, %d errors", len(objs), len(errs))
		}
	}
}

// BenchmarkEvaluatePerObject measures one object against every built-in
// rule that applies to it, single-threaded.
func BenchmarkEvaluatePerObject(b *testing.B) {
	rs := builtinRuleSet(b)
	objs := testgen.Objects(1000, 2)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := rs.Evaluate(context.Background(), objs[i%len(objs):i%len(objs)+1], rules.EvalOptions{Workers: 1}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkScanUnits scans the 10,000 objects of BenchmarkScan10k split
// into units of input (as many path arguments, charts or kustomizations),
// each judged with its own inventory: the time per object must stay
// close to one unit's.
func BenchmarkScanUnits(b *testing.B) {
	for _, size := range []int{1000, 100, 10} {
		b.Run(fmt.Sprintf("objects-per-unit=%d", size), func(b *testing.B) {
			rs := builtinRuleSet(b)
			objs := testgen.Generate(10000, 1, testgen.Realistic)
			var u *k8s.Unit
			for i, o := range objs {
				if i%size == 0 {
					u = &k8s.Unit{Kind: k8s.UnitPath, Path: fmt.Sprintf("unit-%d", i/size)}
				}
				o.Unit = u
			}
			loaded := &k8s.Loaded{Objects: objs}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := Scan(context.Background(), Checks{Rules: rs}, loaded, Options{UseAnnotations: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Findings) == 0 || len(rep.Errors) > 0 {
					b.Fatalf("%d findings, %d errors", len(rep.Findings), len(rep.Errors))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(objs)), "µs/object")
		})
	}
}
