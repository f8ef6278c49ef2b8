package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// VerifiedImages requires images to carry sigstore (cosign) signatures,
// and optionally attestations, by configured authorities: the
// governance.verifiedImages policy.
type VerifiedImages struct {
	PolicyBindings `json:",inline"`
	// Images are checked in order; every entry whose patterns match an
	// image applies to it (an image matching none is not judged).
	Images []ImageVerification `json:"images"`
	// CacheTTL is how long a verified image digest stays verified; default
	// 5m. Refusals are remembered for 30s.
	CacheTTL Duration `json:"cacheTTL,omitempty"`
	// CacheSize bounds the verdicts cached; default 10000.
	CacheSize int `json:"cacheSize,omitempty"`
	// Registry says how the webhook reads registries.
	Registry RegistryAccess `json:"registry,omitempty"`
}

// RegistryAccess configures the webhook's registry client.
type RegistryAccess struct {
	// DockerConfig uses the credentials of $DOCKER_CONFIG/config.json
	// (~/.docker/config.json), including the credential helpers it names;
	// otherwise registries are read anonymously.
	DockerConfig bool `json:"dockerConfig,omitempty"`
	// MaxResponseBytes bounds every registry response; default 4 MiB.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`
}

// ImageVerification is what images matching Images must carry.
type ImageVerification struct {
	// Name identifies the entry in messages.
	Name string `json:"name"`
	// Images are registry/repository patterns (* matches any run of
	// characters), matched like trustedImages patterns
	// (registry.example.com/*, docker.io/library/nginx).
	Images []string `json:"images"`
	// Exclude lists patterns the entry does not apply to.
	Exclude []string `json:"exclude,omitempty"`
	// RequireDigest refuses references not pinned by digest, naming the
	// digest the tag points to.
	RequireDigest bool `json:"requireDigest,omitempty"`
	// Authorities may sign; a signature by any one of them is enough.
	Authorities []SignatureAuthority `json:"authorities"`
	// Attestations must each be present, signed by one of the authorities.
	Attestations []RequiredAttestation `json:"attestations,omitempty"`
}

// SignatureAuthority is a public key or a keyless identity.
type SignatureAuthority struct {
	// Name identifies the authority in messages.
	Name string `json:"name"`
	// Key is the path of a PEM public key (cosign.pub).
	Key string `json:"key,omitempty"`
	// PublicKey is a PEM public key written inline.
	PublicKey string `json:"publicKey,omitempty"`
	// Keyless is a certificate identity (Fulcio) under TrustedRoot.
	Keyless *KeylessIdentity `json:"keyless,omitempty"`
	// TrustedRoot is the path of a sigstore trusted_root.json: required
	// for keyless, and for keys when transparencyLog or timestamps is set.
	TrustedRoot string `json:"trustedRoot,omitempty"`
	// TransparencyLog is the number of verified Rekor entries required;
	// default 1 for keyless, 0 for keys.
	TransparencyLog *int `json:"transparencyLog,omitempty"`
	// SignedCertificateTimestamps is the number of verified SCTs required
	// in keyless certificates; default 1.
	SignedCertificateTimestamps *int `json:"signedCertificateTimestamps,omitempty"`
	// Timestamps is the number of verified RFC 3161 timestamps required;
	// default 0.
	Timestamps int `json:"timestamps,omitempty"`
}

// KeylessIdentity is the issuer and subject of keyless certificates, each
// exact or a regular expression (Go syntax).
type KeylessIdentity struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// RequiredAttestation is an in-toto predicate type an image must have an
// attestation of (https://slsa.dev/provenance/v1,
// https://cosign.sigstore.dev/attestation/vuln/v1, ...).
type RequiredAttestation struct {
	PredicateType string `json:"predicateType"`
}

func (p *VerifiedImages) validate(v *validator) {
	f := "governance.verifiedImages"
	checkBindings(v, f, p.PolicyBindings)
	if len(p.Images) == 0 {
		v.bad(f+".images", "list at least one entry")
	}
	if p.CacheTTL.Duration < 0 || p.CacheTTL.Duration > 24*time.Hour {
		v.bad(f+".cacheTTL", "%s is outside 0..24h", p.CacheTTL.Duration)
	}
	if p.CacheSize < 0 || p.CacheSize > 1000000 {
		v.bad(f+".cacheSize", "%d is outside 0..1000000", p.CacheSize)
	}
	if p.Registry.MaxResponseBytes < 0 || p.Registry.MaxResponseBytes > 64<<20 {
		v.bad(f+".registry.maxResponseBytes", "%d is outside 0..64 MiB", p.Registry.MaxResponseBytes)
	}
	names := map[string]bool{}
	for i, e := range p.Images {
		ef := fmt.Sprintf("%s.images[%d]", f, i)
		if e.Name == "" {
			v.bad(ef+".name", "is required")
		} else if names[e.Name] {
			v.bad(ef+".name", "%q is used twice", e.Name)
		}
		names[e.Name] = true
		if len(e.Images) == 0 {
			v.bad(ef+".images", "list the registry/repository patterns this entry applies to")
		}
		for field, pats := range map[string][]string{"images": e.Images, "exclude": e.Exclude} {
			for j, pat := range pats {
				if strings.TrimSpace(pat) == "" || strings.ContainsAny(pat, " \t@") {
					v.bad(fmt.Sprintf("%s.%s[%d]", ef, field, j), "%q is not a registry/repository pattern", pat)
				}
			}
		}
		if len(e.Authorities) == 0 {
			v.bad(ef+".authorities", "list at least one key or keyless identity")
		}
		for j, a := range e.Authorities {
			checkAuthority(v, fmt.Sprintf("%s.authorities[%d]", ef, j), a)
		}
		for j, a := range e.Attestations {
			if strings.TrimSpace(a.PredicateType) == "" {
				v.bad(fmt.Sprintf("%s.attestations[%d].predicateType", ef, j), "is required")
			}
		}
	}
}

func checkAuthority(v *validator, f string, a SignatureAuthority) {
	if a.Name == "" {
		v.bad(f+".name", "is required")
	}
	n := 0
	for _, set := range []bool{a.Key != "", a.PublicKey != "", a.Keyless != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.bad(f, "set exactly one of key, publicKey and keyless")
	}
	if a.Keyless != nil {
		k := a.Keyless
		if a.TrustedRoot == "" {
			v.bad(f+".trustedRoot", "keyless verification needs a trusted root (cosign trusted-root create, or the public-good instance's trusted_root.json)")
		}
		if (k.Issuer == "") == (k.IssuerRegExp == "") {
			v.bad(f+".keyless", "set exactly one of issuer and issuerRegExp")
		}
		if (k.Subject == "") == (k.SubjectRegExp == "") {
			v.bad(f+".keyless", "set exactly one of subject and subjectRegExp")
		}
		for field, re := range map[string]string{"issuerRegExp": k.IssuerRegExp, "subjectRegExp": k.SubjectRegExp} {
			if _, err := regexp.Compile(re); err != nil {
				v.bad(f+".keyless."+field, "%v", err)
			}
		}
	} else if a.SignedCertificateTimestamps != nil && *a.SignedCertificateTimestamps > 0 {
		v.bad(f+".signedCertificateTimestamps", "applies to keyless certificates only")
	}
	for field, n := range map[string]*int{"transparencyLog": a.TransparencyLog, "signedCertificateTimestamps": a.SignedCertificateTimestamps, "timestamps": &a.Timestamps} {
		if n != nil && (*n < 0 || *n > 10) {
			v.bad(f+"."+field, "%d is outside 0..10", *n)
		}
	}
	if a.Keyless == nil && a.TrustedRoot == "" && ((a.TransparencyLog != nil && *a.TransparencyLog > 0) || a.Timestamps > 0) {
		v.bad(f+".trustedRoot", "is needed to verify transparency log entries or timestamps of key signatures")
	}
}
