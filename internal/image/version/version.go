// Package version orders package versions the way each ecosystem does:
// Debian (dpkg's algorithm: epochs, upstream and revision, "~" sorting
// before everything), Alpine (apk-tools' own comparison, implemented
// here: letters, _alpha/_beta/_pre/_rc and _p suffixes, ~hash, -rN,
// dotted numbers with leading zeros compared as strings), semantic versioning for Go modules (with
// pseudo-versions and +incompatible) and crates.io and npm, PEP 440 for
// PyPI, Maven's ComparableVersion, RPM, RubyGems, NuGet and more.
//
// The other comparisons are those of osv-scalibr's semantic package, the
// implementation osv-scanner matches with; this package pins the
// ecosystem names Kordon uses (OSV ecosystems, release suffixes allowed:
// "Debian:12"), fixes Go's "v" and "go" prefixes, and is covered by
// tables from each ecosystem's specification and by fuzz targets.
package version

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// plausible is what every ecosystem's versions look like: they start
// with a letter or digit and hold only these punctuation marks (RPM's
// "^" included).
// Anything else is rejected before the ecosystem's parser sees it.
var plausible = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_~!:^-]*$`)

// ErrUnsupported is returned for an ecosystem without an ordering.
var ErrUnsupported = errors.New("no version ordering for ecosystem")

// Version is a parsed version of one ecosystem.
type Version struct {
	eco string
	v   semantic.Version
	apk []apkToken // Alpine: apk-tools' own comparison (apk.go)
}

// Parse parses s as a version of ecosystem (an OSV ecosystem name,
// optionally with a release suffix such as "Alpine:v3.20").
func Parse(ecosystem, s string) (Version, error) {
	base, _, _ := strings.Cut(ecosystem, ":")
	if base == "Go" {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "go"), "v")
	}
	if !plausible.MatchString(s) {
		return Version{}, fmt.Errorf("%s version %q: not a version (want letters, digits and . + - _ ~ ! : ^ only)", base, s)
	}
	if base == "Alpine" {
		toks, err := parseAPK(s)
		if err != nil {
			return Version{}, err
		}
		return Version{eco: base, apk: toks}, nil
	}
	v, err := semantic.Parse(s, base)
	if err != nil {
		if errors.Is(err, semantic.ErrUnsupportedEcosystem) {
			return Version{}, fmt.Errorf("%w %q", ErrUnsupported, ecosystem)
		}
		return Version{}, fmt.Errorf("%s version %q: %w", base, s, err)
	}
	return Version{eco: base, v: v}, nil
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w.
// Both must be of the same ecosystem.
func (v Version) Compare(w Version) (int, error) {
	if (v.v == nil && v.apk == nil) || (w.v == nil && w.apk == nil) {
		return 0, errors.New("compare an unparsed version")
	}
	if v.eco != w.eco {
		return 0, fmt.Errorf("compare a %s version with a %s version", v.eco, w.eco)
	}
	if v.apk != nil {
		return compareAPK(v.apk, w.apk), nil
	}
	return v.v.Compare(w.v)
}

// Compare parses and compares two versions of ecosystem.
func Compare(ecosystem, a, b string) (int, error) {
	va, err := Parse(ecosystem, a)
	if err != nil {
		return 0, err
	}
	vb, err := Parse(ecosystem, b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb)
}
