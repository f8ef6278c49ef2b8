package version_test

import (
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/version"
)

// fuzzEcosystems are the ecosystems the fuzz target picks from.
var fuzzEcosystems = []string{"Debian:12", "Alpine:v3.20", "Go", "PyPI", "npm", "crates.io", "Maven", "RubyGems", "NuGet", "Red Hat", "Ubuntu:22.04", "Packagist", "Hex", "Pub"}

// transitive are the ecosystems whose ordering the fuzz target holds to
// transitivity. Maven's ComparableVersion and the looser orderings of the
// other ecosystems are not transitive for odd inputs ("1A0", "1", "1.A"
// in Maven itself), so for them only reflexivity and antisymmetry are
// checked.
var transitive = map[string]bool{"Debian": true, "Ubuntu": true, "Alpine": true, "Go": true, "npm": true, "crates.io": true, "PyPI": true}

// FuzzCompare checks, for arbitrary versions of each ecosystem, that
// parsing and comparing never panic and that the comparison is a total
// preorder: reflexive, antisymmetric and (for the ecosystems in
// transitive) transitive.
func FuzzCompare(f *testing.F) {
	for _, c := range ordered {
		for i, e := range fuzzEcosystems {
			if e == c.eco {
				f.Add(uint8(i), c.a, c.b, c.a+"1")
			}
		}
	}
	f.Add(uint8(0), "1:2.3~rc1-4", "2.3-4", "1:2.3-4")
	f.Add(uint8(2), "v1.2.3-0.20230101000000-abcdefabcdef", "v1.2.3+incompatible", "go1.21")
	f.Add(uint8(3), "1!2.0.post1.dev3", "2.0rc1", "2.0+local.7")
	f.Fuzz(func(t *testing.T, which uint8, a, b, c string) {
		eco := fuzzEcosystems[int(which)%len(fuzzEcosystems)]
		var vs []version.Version
		for _, s := range []string{a, b, c} {
			v, err := version.Parse(eco, s)
			if err != nil {
				return
			}
			vs = append(vs, v)
		}
		cmp := func(i, j int) int {
			r, err := vs[i].Compare(vs[j])
			if err != nil {
				t.Fatalf("%s: compare %q %q: %v", eco, []string{a, b, c}[i], []string{a, b, c}[j], err)
			}
			if r < -1 || r > 1 {
				t.Fatalf("%s: compare returned %d", eco, r)
			}
			return r
		}
		names := []string{a, b, c}
		for i := range vs {
			if cmp(i, i) != 0 {
				t.Fatalf("%s: %q does not equal itself", eco, names[i])
			}
			for j := range vs {
				if cmp(i, j) != -cmp(j, i) {
					t.Fatalf("%s: compare(%q, %q)=%d but compare(%q, %q)=%d", eco, names[i], names[j], cmp(i, j), names[j], names[i], cmp(j, i))
				}
			}
		}
		if !transitive[strings.SplitN(eco, ":", 2)[0]] {
			return
		}
		for i := range vs {
			for j := range vs {
				for k := range vs {
					if cmp(i, j) <= 0 && cmp(j, k) <= 0 && cmp(i, k) > 0 {
						t.Fatalf("%s: not transitive: %q <= %q <= %q but %q > %q", eco, names[i], names[j], names[k], names[i], names[k])
					}
				}
			}
		}
	})
}
