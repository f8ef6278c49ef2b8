package rules

import (
	"encoding/json"
	"testing"
)

// BenchmarkCompileBuiltinWithParams is BenchmarkCompileBuiltin with every
// built-in parameter set: what setting parameters adds to a command's
// start (the rules with parameters are type-checked with them declared,
// inlined and compiled again).
func BenchmarkCompileBuiltinWithParams(b *testing.B) {
	settings := []ParamSetting{
		{Rule: "KOR-IMG-001", Name: "floatingTags", Value: json.RawMessage(`["latest","current"]`)},
		{Rule: "KOR-IMG-003", Name: "trustedRegistries", Value: json.RawMessage(`["registry.example.com/","docker.io/library/"]`)},
		{Rule: "KOR-WL-010", Name: "minUserID", Value: json.RawMessage(`20000`)},
	}
	b.ReportAllocs()
	for b.Loop() {
		all, err := Builtin()
		if err != nil {
			b.Fatal(err)
		}
		if all, err = SetParams(all, settings); err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(all); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInlined measures writing one rule's parameter values into its
// expressions (also what the VAP export does per rule), with a list of
// 1,000 trusted registries.
func BenchmarkInlined(b *testing.B) {
	all, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	regs := make([]string, 1000)
	for i := range regs {
		regs[i] = "registry-" + string(rune('a'+i%26)) + ".example.com/team/" + string(rune('a'+i/26%26)) + "/"
	}
	raw, _ := json.Marshal(regs)
	set, err := SetParams(all, []ParamSetting{{Rule: "KOR-IMG-003", Name: "trustedRegistries", Value: raw}})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := NewCatalogue(set)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := cat.Lookup("KOR-IMG-003")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Inlined(r); err != nil {
			b.Fatal(err)
		}
	}
}
