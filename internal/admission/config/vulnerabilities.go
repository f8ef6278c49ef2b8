package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// VulnerableImages denies (or warns about) images that the scan cache
// records with a vulnerability at or above a severity: the
// governance.vulnerableImages policy. The cache is the folder kordon image
// scan --cluster fills (--inventory-cache); the webhook only reads it.
type VulnerableImages struct {
	PolicyBindings `json:",inline"`
	// CacheDir is the scan cache folder (kordon image scan --cluster
	// --inventory-cache); records are read from CacheDir/images.
	CacheDir string `json:"cacheDir"`
	// Severity is the lowest severity that counts: low, medium, high
	// (default) or critical. A vulnerability without a CVSS score or a
	// severity label counts as medium, as kordon image scan --fail-on
	// counts it.
	Severity string `json:"severity,omitempty"`
	// IgnoreUnfixed leaves out vulnerabilities without a known fix.
	IgnoreUnfixed bool `json:"ignoreUnfixed,omitempty"`
	// Exceptions are vulnerabilities that never count.
	Exceptions []VulnerabilityException `json:"exceptions,omitempty"`
	// Unscanned is what happens to an image the cache has no complete,
	// fresh record of: deny (a violation with the policy's action), warn
	// (default: a warning at most — audit where the policy audits) or
	// allow (recorded as audit only). The message always says that the
	// image was not judged, and why.
	Unscanned UnscannedAction `json:"unscanned,omitempty"`
	// MaxAge, when set, treats records older than it as missing (the
	// cluster scan has not run since).
	MaxAge Duration `json:"maxAge,omitempty"`
	// Registry says how the webhook resolves tags to digests.
	Registry RegistryAccess `json:"registry,omitempty"`
}

// VulnerabilityException names a vulnerability by OSV ID or by one of its
// aliases (CVE-2024-1234, GHSA-...), optionally for some images only.
type VulnerabilityException struct {
	// ID is an OSV ID or alias, matched exactly.
	ID string `json:"id"`
	// Images, when set, limits the exception to images matching these
	// registry/repository patterns (as trustedImages patterns).
	Images []string `json:"images,omitempty"`
	// Reason says why (kept for reviewers; shown nowhere).
	Reason string `json:"reason,omitempty"`
}

// UnscannedAction is what governance.vulnerableImages does with an image it
// cannot judge.
type UnscannedAction string

// Unscanned actions.
const (
	UnscannedDeny  UnscannedAction = "deny"
	UnscannedWarn  UnscannedAction = "warn"
	UnscannedAllow UnscannedAction = "allow"
)

// MinSeverity returns the configured severity (default high).
func (p *VulnerableImages) MinSeverity() finding.Severity {
	if p.Severity == "" {
		return finding.High
	}
	s, _ := finding.ParseSeverity(p.Severity)
	return s
}

func (p *VulnerableImages) validate(v *validator) {
	f := "governance.vulnerableImages"
	checkBindings(v, f, p.PolicyBindings)
	if strings.TrimSpace(p.CacheDir) == "" {
		v.bad(f+".cacheDir", "name the scan cache folder (kordon image scan --cluster --inventory-cache)")
	}
	if p.Severity != "" {
		s, err := finding.ParseSeverity(p.Severity)
		if err != nil || s == finding.Info {
			v.bad(f+".severity", "%q is not one of low, medium, high, critical", p.Severity)
		}
	}
	switch p.Unscanned {
	case "", UnscannedDeny, UnscannedWarn, UnscannedAllow:
	default:
		v.bad(f+".unscanned", "%q is not one of deny, warn, allow", p.Unscanned)
	}
	if p.MaxAge.Duration < 0 || p.MaxAge.Duration > 365*24*time.Hour {
		v.bad(f+".maxAge", "%s is outside 0..8760h", p.MaxAge.Duration)
	}
	if p.Registry.MaxResponseBytes < 0 || p.Registry.MaxResponseBytes > 64<<20 {
		v.bad(f+".registry.maxResponseBytes", "%d is outside 0..64 MiB", p.Registry.MaxResponseBytes)
	}
	for i, e := range p.Exceptions {
		ef := fmt.Sprintf("%s.exceptions[%d]", f, i)
		if strings.TrimSpace(e.ID) == "" || strings.ContainsAny(e.ID, " \t*") {
			v.bad(ef+".id", "%q is not an OSV ID or alias", e.ID)
		}
		for j, pat := range e.Images {
			if strings.TrimSpace(pat) == "" || strings.ContainsAny(pat, " \t@") {
				v.bad(fmt.Sprintf("%s.images[%d]", ef, j), "%q is not a registry/repository pattern", pat)
			}
		}
	}
}
