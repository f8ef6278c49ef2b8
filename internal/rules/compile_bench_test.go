package rules

import (
	"context"
	"testing"

	"github.com/kordon-dev/kordon/internal/testgen"
)

// BenchmarkCompileBuiltin measures loading and compiling the built-in
// catalogue, which every command that evaluates rules pays once.
func BenchmarkCompileBuiltin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		all, err := Builtin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(all); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInventoryRules10k runs the rules that read the inventory on
// 10,000 generated objects (namespaces of about 1,000): the rules that
// walk a namespace's or the cluster's objects for each object, the first
// place where a scan grows faster than its input.
func BenchmarkInventoryRules10k(b *testing.B) {
	all, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var inventory []*Rule
	for _, r := range CEL(all) {
		if readsInventory(r) {
			inventory = append(inventory, r)
		}
	}
	rs, err := Compile(inventory)
	if err != nil {
		b.Fatal(err)
	}
	objs := testgen.Objects(10000, 1)
	inv := NewInventory(objs)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rs.Evaluate(context.Background(), objs, EvalOptions{Workers: 1, Inventory: inv}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(inventory)), "rules")
}

// BenchmarkEvaluate10k runs every built-in CEL rule on 10,000 generated
// objects on one thread (BenchmarkScan10k in internal/posture adds the
// native checks, exceptions, sorting and scores, on every core).
func BenchmarkEvaluate10k(b *testing.B) {
	all, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := Compile(all)
	if err != nil {
		b.Fatal(err)
	}
	objs := testgen.Objects(10000, 1)
	inv := NewInventory(objs)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rs.Evaluate(context.Background(), objs, EvalOptions{Workers: 1, Inventory: inv}); err != nil {
			b.Fatal(err)
		}
	}
}
