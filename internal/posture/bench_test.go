package posture

import (
	"context"
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

// BenchmarkScan10k scans 10,000 generated objects with every built-in rule:
// evaluation, exceptions, sorting and scores (loading excluded).
func BenchmarkScan10k(b *testing.B) {
	rs := builtinRuleSet(b)
	loaded := &k8s.Loaded{Objects: testgen.Objects(10000, 1)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Scan(context.Background(), Checks{Rules: rs}, loaded, Options{UseAnnotations: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Findings) == 0 {
			b.Fatal("no findings")
		}
	}
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
