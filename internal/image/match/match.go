// Package match finds the OSV records that affect an inventory's
// packages, offline: OS packages by source package name against the
// records of the image's release ("Debian:12"), language packages by name
// in their ecosystem, Go binaries at module level (the Go standard
// library as "stdlib"). Versions are compared with each ecosystem's own
// ordering (package version). A record matches when its versions list
// names the installed version or one of its ECOSYSTEM or SEMVER ranges
// contains it (introduced, fixed, last_affected and limit events as the
// OSV schema defines them); withdrawn records never match.
package match

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/image/cvss"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/version"
)

// Vuln is one record affecting one installed package.
type Vuln struct {
	ID      string
	Aliases []string
	Summary string
	Package inventory.Package
	// FixedVersion is the lowest version that fixes it past the installed
	// one; empty when no fix is known.
	FixedVersion string
	// Severity is critical, high, medium, low, none or unknown; Score and
	// Vector are set when it comes from a CVSS vector (v4.0, v3.x or v2:
	// the newest version the record has a valid vector of).
	Severity string
	Score    float64
	Vector   string
}

// Match returns the records of db that affect pkgs, sorted by package
// path, package and record ID. Errors name records whose versions could
// not be compared; they never hide other matches.
func Match(db *osv.DB, pkgs []inventory.Package) ([]Vuln, []error) {
	var out []Vuln
	var errs []error
	for i := range pkgs {
		p := &pkgs[i]
		if p.Ecosystem == "" || p.Version == "(devel)" {
			continue // no ecosystem to match in, or a Go main module built from a checkout
		}
		seen := map[string]bool{}
		for _, e := range db.Lookup(p.Ecosystem, p.MatchName()) {
			if e.Record.Withdrawn != nil || seen[e.Record.ID] {
				continue
			}
			hit, fixed, err := Affects(e.Affected, p.Ecosystem, p.MatchVersion())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s %s %s): %w", e.Record.ID, p.Ecosystem, p.MatchName(), p.MatchVersion(), err))
			}
			if !hit {
				continue
			}
			seen[e.Record.ID] = true
			v := Vuln{ID: e.Record.ID, Aliases: e.Record.Aliases, Summary: e.Record.Summary, Package: *p, FixedVersion: goStyle(p, fixed)}
			var serrs []error
			v.Severity, v.Score, v.Vector, serrs = severity(e.Record, e.Affected)
			errs = append(errs, serrs...)
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b Vuln) int {
		return cmp.Or(cmp.Compare(a.Package.Path, b.Package.Path), cmp.Compare(a.Package.Name, b.Package.Name),
			cmp.Compare(a.Package.Version, b.Package.Version), cmp.Compare(a.ID, b.ID))
	})
	return out, errs
}

// Affects reports whether the affected entry includes version v of
// ecosystem, and the fix past v when one is known. An error names an
// event or listed version that does not parse; the other events still
// count.
func Affects(a *osv.Affected, ecosystem, v string) (bool, string, error) {
	iv, err := version.Parse(ecosystem, v)
	if err != nil {
		return false, "", err
	}
	hit := slices.Contains(a.Versions, v)
	var fixes []version.Version
	var fixStr []string
	var firstErr error
	for _, r := range a.Ranges {
		if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
			continue
		}
		in, fix, err := inRange(r.Events, ecosystem, iv)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if in {
			hit = true
			if fix != "" {
				fv, err := version.Parse(ecosystem, fix)
				if err == nil {
					fixes = append(fixes, fv)
					fixStr = append(fixStr, fix)
				}
			}
		}
	}
	if !hit {
		return false, "", firstErr
	}
	best := -1
	for i := range fixes {
		if best < 0 {
			best = i
			continue
		}
		if c, err := fixes[i].Compare(fixes[best]); err == nil && c < 0 {
			best = i
		}
	}
	if best < 0 {
		return true, "", firstErr
	}
	return true, fixStr[best], firstErr
}

type event struct {
	kind string // introduced, fixed, last_affected, limit
	raw  string
	v    version.Version
	zero bool // introduced "0"
}

// inRange evaluates one range with the OSV schema's algorithm: events
// sorted by version; introduced sets affected, fixed (at or below v) and
// last_affected (below v) clear it; v must also be below every limit. fix
// is the first fixed event above v.
func inRange(events []osv.Event, ecosystem string, v version.Version) (bool, string, error) {
	var evs []event
	var firstErr error
	for _, e := range events {
		var ev event
		switch {
		case e.Introduced != "":
			ev = event{kind: "introduced", raw: e.Introduced}
		case e.Fixed != "":
			ev = event{kind: "fixed", raw: e.Fixed}
		case e.LastAffected != "":
			ev = event{kind: "last_affected", raw: e.LastAffected}
		case e.Limit != "":
			ev = event{kind: "limit", raw: e.Limit}
		default:
			continue
		}
		if ev.kind == "introduced" && ev.raw == "0" {
			ev.zero = true
		} else if ev.kind == "limit" && ev.raw == "*" {
			continue // no limit
		} else {
			pv, err := version.Parse(ecosystem, ev.raw)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s %q: %w", ev.kind, ev.raw, err)
				}
				continue
			}
			ev.v = pv
		}
		evs = append(evs, ev)
	}
	slices.SortStableFunc(evs, func(a, b event) int {
		if a.zero || b.zero {
			return cmp.Compare(boolInt(!a.zero), boolInt(!b.zero))
		}
		c, _ := a.v.Compare(b.v)
		return c
	})
	affected, fix := false, ""
	for _, e := range evs {
		if e.kind == "limit" {
			if c, _ := v.Compare(e.v); c >= 0 {
				return false, "", firstErr
			}
			continue
		}
		switch e.kind {
		case "introduced":
			if e.zero {
				affected = true
			} else if c, _ := v.Compare(e.v); c >= 0 {
				affected = true
			}
		case "fixed":
			c, _ := v.Compare(e.v)
			if c >= 0 {
				affected = false
			} else if affected && fix == "" {
				fix = e.raw
			}
		case "last_affected":
			if c, _ := v.Compare(e.v); c > 0 {
				affected = false
			}
		}
	}
	if !affected {
		fix = ""
	}
	return affected, fix, firstErr
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// severity takes the score of the newest CVSS version of which the record
// or the affected entry has a valid vector — v4.0 (CVSS_V4), then v3.x
// (CVSS_V3), then v2 (CVSS_V2) — the highest score within that version.
// Without a valid vector, a textual severity of database_specific
// (GitHub's "MODERATE"; Debian's urgency is not used); else "unknown".
// Invalid vectors are returned as errors naming the record; they never
// hide a valid vector of another version nor the record's label.
func severity(r *osv.Record, a *osv.Affected) (string, float64, string, []error) {
	type scored struct {
		rank  int
		score float64
		vec   string
	}
	var best *scored
	var errs []error
	for _, s := range slices.Concat(r.Severity, a.Severity) {
		var sc float64
		var err error
		var rank int
		switch s.Type {
		case "CVSS_V4":
			rank = 4
			sc, err = cvss.ScoreV4(s.Score)
		case "CVSS_V3":
			rank = 3
			sc, err = cvss.BaseScore(s.Score)
		case "CVSS_V2":
			rank = 2
			sc, err = cvss.BaseScoreV2(s.Score)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: severity %s: %w", r.ID, s.Type, err))
			continue
		}
		if best == nil || rank > best.rank || (rank == best.rank && sc > best.score) {
			best = &scored{rank, sc, s.Score}
		}
	}
	if best != nil {
		if best.rank == 2 {
			return cvss.RatingV2(best.score), best.score, best.vec, errs
		}
		return cvss.Rating(best.score), best.score, best.vec, errs
	}
	var ds struct {
		Severity string `json:"severity"`
	}
	if len(r.DatabaseSpecific) > 0 && json.Unmarshal(r.DatabaseSpecific, &ds) == nil {
		switch strings.ToLower(ds.Severity) {
		case "critical":
			return "critical", 0, "", errs
		case "high":
			return "high", 0, "", errs
		case "moderate", "medium":
			return "medium", 0, "", errs
		case "low":
			return "low", 0, "", errs
		}
	}
	return "unknown", 0, "", errs
}

// goStyle writes a Go fix as the build info writes versions: "v0.7.1"
// for modules, "go1.20.2" for the standard library.
func goStyle(p *inventory.Package, fixed string) string {
	if p.Ecosystem != "Go" || fixed == "" {
		return fixed
	}
	if p.Name == "stdlib" || p.Name == "toolchain" {
		return "go" + strings.TrimPrefix(fixed, "go")
	}
	return "v" + strings.TrimPrefix(fixed, "v")
}
