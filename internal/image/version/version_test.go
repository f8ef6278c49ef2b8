package version_test

import (
	"testing"

	"github.com/kordon-dev/kordon/internal/image/version"
)

// Each row is a < b in its ecosystem; the test checks a<b, b>a, a=a.
var ordered = []struct{ eco, a, b, why string }{
	// Debian Policy 5.6.12 and dpkg's verrevcmp.
	{"Debian:12", "1.0", "1:0.1", "an epoch outranks the upstream version"},
	{"Debian:12", "1:1.0", "2:0.9", "larger epoch"},
	{"Debian:12", "1.0~rc1", "1.0", "~ sorts before the empty string"},
	{"Debian:12", "1.0~~", "1.0~~a", "~~ before ~~a"},
	{"Debian:12", "1.0~~a", "1.0~", "~~a before ~"},
	{"Debian:12", "1.0", "1.0a", "the empty string before a letter"},
	{"Debian:12", "1.0a", "1.0+", "letters before non-letters"},
	{"Debian:12", "1.0-1", "1.0-2", "revision"},
	{"Debian:12", "1.0-9", "1.0-10", "numeric parts compare as numbers"},
	{"Debian:12", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "security update revision"},
	{"Debian:12", "3.0.11-1~deb12u2", "3.0.11-1", "a backport before the release"},
	{"Debian:12", "2.36-9+deb12u3", "2.36-9+deb12u4", "stable update"},
	// apk (apk-tools version.c).
	{"Alpine:v3.20", "1.2.3-r0", "1.2.3-r1", "-rN release"},
	{"Alpine:v3.20", "1.2.3-r9", "1.2.3-r10", "release numbers compare as numbers"},
	{"Alpine:v3.20", "1.2.3_rc1-r0", "1.2.3-r0", "_rc before the release"},
	{"Alpine:v3.20", "1.2.3_alpha-r0", "1.2.3_beta-r0", "_alpha before _beta"},
	{"Alpine:v3.20", "1.2.3_beta1", "1.2.3_pre1", "_beta before _pre"},
	{"Alpine:v3.20", "1.2.3_pre1", "1.2.3_rc1", "_pre before _rc"},
	{"Alpine:v3.20", "1.2.3", "1.2.3_p1", "_p (patch) after the release"},
	{"Alpine:v3.20", "1.2.3", "1.2.3a", "a letter after the number"},
	{"Alpine:v3.20", "3.1.4-r5", "3.3.0-r0", "openssl-like"},
	{"Alpine:v3.20", "1.2", "1.10", "numbers, not strings"},
	// apk-tools' apk_version_compare, token by token: a dotted number with a
	// leading zero on either side compares as a string, others as numbers.
	{"Alpine:v3.20", "1", "1.0", "a further number is greater"},
	{"Alpine:v3.20", "1.0", "1.00", `"0" < "00" as strings`},
	{"Alpine:v3.20", "1.01", "1.1", `"01" < "1" as strings`},
	{"Alpine:v3.20", "1.001", "1.01", `"001" < "01" as strings`},
	{"Alpine:v3.20", "1.09", "1.9", "leading zero: string order"},
	{"Alpine:v3.20", "1.09", "1.10", "leading zero: string order"},
	{"Alpine:v3.20", "1.01", "1.010", "a string prefix sorts first"},
	{"Alpine:v3.20", "1.9", "1.10", "no leading zero: numbers"},
	{"Alpine:v3.20", "2.0.09-r0", "2.0.9-r0", "leading zero in a middle component"},
	{"Alpine:v3.20", "1.18446744073709551616", "1.18446744073709551617", "numbers beyond 64 bits"},
	{"Alpine:v3.20", "1.2.3_rc", "1.2.3_rc0", "a suffix without number before one with"},
	{"Alpine:v3.20", "1.2.3_rc9", "1.2.3_rc10", "suffix numbers as numbers"},
	{"Alpine:v3.20", "1.2.3_alpha_beta", "1.2.3_alpha", "a second pre-release suffix is less"},
	{"Alpine:v3.20", "1.2.3_p1", "1.2.3_p1_p2", "a second post-release suffix is greater"},
	{"Alpine:v3.20", "1.2.3_rc1", "1.2.3_cvs", "pre-releases before post-releases"},
	{"Alpine:v3.20", "1.2.3_cvs", "1.2.3_svn", "cvs < svn"},
	{"Alpine:v3.20", "1.2.3_git", "1.2.3_hg", "git < hg"},
	{"Alpine:v3.20", "1.2.3_hg", "1.2.3_p", "hg < p"},
	{"Alpine:v3.20", "1.2a", "1.2.1", "a letter before a further number"},
	{"Alpine:v3.20", "1.2_p1", "1.2.1", "a suffix before a further number"},
	{"Alpine:v3.20", "1.2.3a", "1.2.3b", "letters"},
	{"Alpine:v3.20", "1.2.3", "1.2.3~abc", "a hash after the version"},
	{"Alpine:v3.20", "1.2.3~abc", "1.2.3~abd", "hashes as text"},
	{"Alpine:v3.20", "1.2.3-r5", "1.2.3~abc", "a hash outranks a release: the earlier token kind is the greater"},
	{"Alpine:v3.20", "1.2.3_rc1~abc", "1.2.3~abc", "a pre-release before the hash"},
	// Semantic Versioning 2.0.0 section 11, and Go module versions.
	{"Go", "v1.0.0-alpha", "v1.0.0-alpha.1", "semver 11.4.4"},
	{"Go", "1.0.0-alpha.1", "1.0.0-alpha.beta", "numeric before alphanumeric identifiers"},
	{"Go", "1.0.0-beta.2", "1.0.0-beta.11", "numeric identifiers as numbers"},
	{"Go", "1.0.0-rc.1", "1.0.0", "pre-release before the release"},
	{"Go", "v0.0.0-20210101000000-abcdefabcdef", "v0.0.0-20220101000000-abcdefabcdef", "pseudo-versions by time"},
	{"Go", "v0.0.0-20220101000000-abcdefabcdef", "v0.1.0", "a pseudo-version before the first release"},
	{"Go", "v1.2.3", "v1.2.4-0.20220101000000-abcdefabcdef", "a pseudo-version after its base"},
	{"Go", "go1.20.1", "1.21.0", "toolchain versions"},
	{"Go", "1.9.2", "1.10.0", "numbers, not strings"},
	{"npm", "1.0.0-rc.1", "1.0.0", "npm semver"},
	{"crates.io", "0.9.9", "0.10.0", "cargo semver"},
	// PEP 440, "Summary of permitted suffixes and relative ordering".
	{"PyPI", "1.0.dev456", "1.0a1", "dev before pre-releases"},
	{"PyPI", "1.0a1", "1.0a2.dev456", "a1 before a2.dev"},
	{"PyPI", "1.0a12", "1.0b1.dev456", "alpha before beta"},
	{"PyPI", "1.0b2.post345", "1.0rc1", "beta post before rc"},
	{"PyPI", "1.0rc1", "1.0", "rc before final"},
	{"PyPI", "1.0", "1.0+abc.5", "local versions after the public one"},
	{"PyPI", "1.0.post456.dev34", "1.0.post456", "post dev before post"},
	{"PyPI", "1.0.post456", "1.1.dev1", "post before the next release"},
	{"PyPI", "1!0.1", "2!0.0", "PEP 440 epochs"},
	{"PyPI", "2.0", "1!1.0", "any epoch outranks none"},
	// Maven ComparableVersion.
	{"Maven", "1.0-alpha-1", "1.0-beta-1", "alpha before beta"},
	{"Maven", "1.0-beta-1", "1.0-milestone-1", "beta before milestone"},
	{"Maven", "1.0-rc-1", "1.0-SNAPSHOT", "rc before snapshot"},
	{"Maven", "1.0-SNAPSHOT", "1.0", "snapshot before release"},
	{"Maven", "1.0", "1.0-sp-1", "sp after release"},
	{"Maven", "1.0.9", "1.0.10", "numbers"},
	{"Maven", "2.14.1", "2.15.0", "log4j-like"},
}

var equal = []struct{ eco, a, b string }{
	{"Debian:12", "0:1.2-3", "1.2-3"}, // epoch 0 is the default
	{"Debian:12", "1.02", "1.2"},      // leading zeros
	{"Debian:12", "1.2.3", "1.2.3-0"}, // an absent revision compares as "0" (dpkg)
	{"PyPI", "1.0", "1.0.0"},          // release segments padded with zeros
	{"PyPI", "1.0RC1", "1.0rc1"},      // case-insensitive normalization
	{"PyPI", "1.0-alpha1", "1.0a1"},   // spelling normalization
	{"Maven", "1.0", "1.0.0"},         // trailing zeros
	{"Maven", "1.0-ga", "1.0"},        // "ga", "final" and "release" are the release
	{"Go", "v1.2.3+incompatible", "1.2.3"},
	{"Alpine:v3.20", "1.2.3-r0", "1.2.3-r0"},
	{"Maven", "1-rc", "1-cr"},
	{"Maven", "1", "1-ga"},
	{"Maven", "1", "1-final"},
	{"Maven", "1", "1-release"},
	{"Maven", "1-FOO", "1-foo"},
	{"Alpine:v3.20", "01.2", "1.2"}, // the first number is a number
	{"Alpine:v3.20", "1.2.3-r01", "1.2.3-r1"},
	{"Alpine:v3.20", "1.2_rc01", "1.2_rc1"},
}

// mavenQuirks are Maven orderings docs/image.md documents.
var mavenQuirks = []struct{ eco, a, b, why string }{
	{"Maven", "1-1", "1.1", "- and . differ"},
	{"Maven", "1-alpha", "1-beta", "qualifiers"},
	{"Maven", "1-beta", "1-milestone", "qualifiers"},
	{"Maven", "1-milestone", "1-rc", "qualifiers"},
	{"Maven", "1-rc", "1-SNAPSHOT", "qualifiers"},
	{"Maven", "1-SNAPSHOT", "1", "a snapshot before the release"},
	{"Maven", "1", "1-sp", "sp after the release"},
	{"Maven", "1-sp", "1-bar", "unknown qualifiers after sp"},
	{"Maven", "1-bar", "1-foo", "unknown qualifiers alphabetically"},
	// Not transitive, in Maven itself: 1A0 < 1 < 1.A < 1A0.
	{"Maven", "1A0", "1", "cycle"},
	{"Maven", "1", "1.A", "cycle"},
	{"Maven", "1.A", "1A0", "cycle"},
}

func TestOrder(t *testing.T) {
	for _, c := range append(ordered[:len(ordered):len(ordered)], mavenQuirks...) {
		t.Run(c.eco+"/"+c.a+"<"+c.b, func(t *testing.T) {
			for _, x := range []struct {
				a, b string
				want int
			}{{c.a, c.b, -1}, {c.b, c.a, 1}, {c.a, c.a, 0}} {
				got, err := version.Compare(c.eco, x.a, x.b)
				if err != nil || got != x.want {
					t.Errorf("Compare(%q, %q) = %d, %v; want %d (%s)", x.a, x.b, got, err, x.want, c.why)
				}
			}
		})
	}
}

func TestEqual(t *testing.T) {
	for _, c := range equal {
		if got, err := version.Compare(c.eco, c.a, c.b); err != nil || got != 0 {
			t.Errorf("%s: Compare(%q, %q) = %d, %v; want 0", c.eco, c.a, c.b, got, err)
		}
	}
}

func TestUnsupported(t *testing.T) {
	if _, err := version.Parse("NoSuchEcosystem", "1.0"); err == nil {
		t.Error("an unknown ecosystem parsed")
	}
}

// TestRefused checks that strings no ecosystem would call a version are
// errors, not compared (the fuzzer found intransitive orders on them),
// while RPM's caret still parses.
func TestRefused(t *testing.T) {
	for _, c := range []struct{ eco, v string }{{"Packagist", "#"}, {"Debian:12", ""}, {"Alpine:v3.20", "A0"}, {"Alpine:v3.20", "1.0-r"},
		{"Alpine:v3.20", "1..2"}, {"Alpine:v3.20", "1.2ab"}, {"Alpine:v3.20", "1.2_foo"}, {"Alpine:v3.20", "1.2-r1_rc1"},
		{"Alpine:v3.20", "1.2~"}, {"Alpine:v3.20", "1.2~a~b"}, {"Alpine:v3.20", "1.2-r1-r2"}, {"Alpine:v3.20", "1.2a1"}, {"Alpine:v3.20", "_rc1"}, {"Go", "1.0 "}} {
		if _, err := version.Parse(c.eco, c.v); err == nil {
			t.Errorf("%s %q parsed", c.eco, c.v)
		}
	}
	for _, c := range []struct{ eco, v string }{{"Red Hat", "1.0^20200101-1.el9"}, {"Alpine:v3.20", "1.2.3_rc1_p2~abc123-r10"}, {"Debian:12", "1:2.3~rc1+dfsg-4"}} {
		if _, err := version.Parse(c.eco, c.v); err != nil {
			t.Errorf("%s %q: %v", c.eco, c.v, err)
		}
	}
}
