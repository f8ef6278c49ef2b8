package rules

import "testing"

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
