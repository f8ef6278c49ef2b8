package config

import (
	"fmt"
	"strings"
	"testing"
)

// bigConfig is a heavy but plausible configuration: 200 flag values over
// 20 commands, 2,000 inline exceptions and 500 parameter values.
func bigConfig() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: kordon.dev/v1alpha1\nkind: Config\ndefaults:\n  min-severity: low\ncommands:\n")
	for c := range 20 {
		fmt.Fprintf(&b, "  cmd%d:\n", c)
		for f := range 10 {
			fmt.Fprintf(&b, "    flag-%d: [a, b, c]\n", f)
		}
	}
	b.WriteString("exceptions:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  - rule: KOR-POD-%03d\n    namespace: team-%d\n    name: \"app-*\"\n    reason: accepted risk %d\n    expires: 2027-06-30\n", i%50, i, i)
	}
	b.WriteString("parameters:\n")
	for i := range 500 {
		fmt.Fprintf(&b, "  KOR-X-%d:\n    list: [registry-%d.example.com/, docker.io/library/]\n", i, i)
	}
	return []byte(b.String())
}

// BenchmarkParseBig parses and checks a configuration of about 250 KB,
// which every command pays once at start.
func BenchmarkParseBig(b *testing.B) {
	data := bigConfig()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(".kordon.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
