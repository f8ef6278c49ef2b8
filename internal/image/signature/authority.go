package signature

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// maxTrustFileBytes bounds a public key or trusted root file.
const maxTrustFileBytes = 4 << 20

// AuthoritySpec describes who may sign: a public key (keyed) or a keyless
// identity under a trusted root. Exactly one of PublicKey and Keyless is
// set.
type AuthoritySpec struct {
	// Name identifies the authority in messages.
	Name string
	// PublicKey is a PEM public key (ECDSA, RSA or Ed25519), as cosign
	// generate-key-pair writes cosign.pub.
	PublicKey []byte
	// Keyless is a certificate identity under a trusted root.
	Keyless *KeylessSpec
	// TrustedRoot is the sigstore trusted root JSON (Fulcio CAs, Rekor and
	// CT log keys, timestamp authorities). Required for keyless; for keyed
	// signatures only when TransparencyLog or Timestamps is above 0.
	TrustedRoot []byte
	// TransparencyLog is the number of verified transparency log entries
	// required (Rekor inclusion promises or proofs).
	TransparencyLog int
	// SignedCertificateTimestamps is the number of verified certificate
	// transparency SCTs required in keyless certificates.
	SignedCertificateTimestamps int
	// Timestamps is the number of verified RFC 3161 timestamps required.
	Timestamps int
}

// KeylessSpec is the identity keyless signatures must carry: the OIDC
// issuer and the certificate's subject alternative name, each exact or a
// regular expression (Go syntax, unanchored unless written with ^ and $).
type KeylessSpec struct {
	Issuer, IssuerRegExp   string
	Subject, SubjectRegExp string
}

// Authority is a compiled AuthoritySpec, ready to verify.
type Authority struct {
	name     string
	keyed    bool
	verifier *verify.Verifier
	identity verify.CertificateIdentity
}

// Name returns the authority's name.
func (a *Authority) Name() string { return a.name }

// LoadAuthority reads the key or trusted root of spec and builds its
// verifier. Errors name the part that is wrong.
func LoadAuthority(spec *AuthoritySpec) (*Authority, error) {
	if (len(spec.PublicKey) > 0) == (spec.Keyless != nil) {
		return nil, errors.New("set exactly one of a public key and a keyless identity")
	}
	if spec.TransparencyLog < 0 || spec.SignedCertificateTimestamps < 0 || spec.Timestamps < 0 {
		return nil, errors.New("transparency log, SCT and timestamp thresholds must not be negative")
	}
	a := &Authority{name: spec.Name, keyed: len(spec.PublicKey) > 0}
	var trusted root.TrustedMaterialCollection
	if len(spec.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(spec.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("trusted root: %w", err)
		}
		trusted = append(trusted, tr)
	}
	var opts []verify.VerifierOption
	if a.keyed {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(spec.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		v, err := signature.LoadDefaultVerifier(pub)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		key := root.NewExpiringKey(v, time.Time{}, time.Time{})
		// Every hint (a bundle's key id, or none in cosign's classic
		// scheme) names this authority's one key.
		trusted = append(trusted, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil }))
		if (spec.TransparencyLog > 0 || spec.Timestamps > 0) && len(spec.TrustedRoot) == 0 {
			return nil, errors.New("a trusted root (its Rekor and timestamp authority keys) is needed to require transparency log entries or timestamps")
		}
		if spec.SignedCertificateTimestamps > 0 {
			return nil, errors.New("signed certificate timestamps apply to keyless certificates, not to keys")
		}
	} else {
		if len(spec.TrustedRoot) == 0 {
			return nil, errors.New("keyless verification needs a trusted root")
		}
		k := spec.Keyless
		if (k.Issuer == "") == (k.IssuerRegExp == "") {
			return nil, errors.New("keyless: set exactly one of issuer and issuerRegExp")
		}
		if (k.Subject == "") == (k.SubjectRegExp == "") {
			return nil, errors.New("keyless: set exactly one of subject and subjectRegExp")
		}
		for _, re := range []string{k.IssuerRegExp, k.SubjectRegExp} {
			if _, err := regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("keyless: %w", err)
			}
		}
		id, err := verify.NewShortCertificateIdentity(k.Issuer, k.IssuerRegExp, k.Subject, k.SubjectRegExp)
		if err != nil {
			return nil, fmt.Errorf("keyless identity: %w", err)
		}
		a.identity = id
		if spec.SignedCertificateTimestamps > 0 {
			opts = append(opts, verify.WithSignedCertificateTimestamps(spec.SignedCertificateTimestamps))
		}
	}
	if spec.TransparencyLog > 0 {
		opts = append(opts, verify.WithTransparencyLog(spec.TransparencyLog))
	}
	if spec.Timestamps > 0 {
		opts = append(opts, verify.WithSignedTimestamps(spec.Timestamps))
	}
	if spec.TransparencyLog > 0 || spec.Timestamps > 0 {
		opts = append(opts, verify.WithObserverTimestamps(1))
	} else {
		// Without a log entry or a timestamp, a certificate must be valid
		// now (short-lived Fulcio certificates seldom are); keys do not
		// expire.
		opts = append(opts, verify.WithCurrentTime())
	}
	v, err := verify.NewVerifier(trusted, opts...)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	a.verifier = v
	return a, nil
}

// ReadTrustFile reads a key or trusted root file, bounded in size.
func ReadTrustFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxTrustFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is larger than %d", path, st.Size(), maxTrustFileBytes)
	}
	return os.ReadFile(path)
}

// policyOption returns the identity half of a verification policy.
func (a *Authority) policyOption() verify.PolicyOption {
	if a.keyed {
		return verify.WithKey()
	}
	return verify.WithCertificateIdentity(a.identity)
}

// Policy is what an image must carry: a signature by one of Authorities,
// and for every predicate type in Attestations an attestation by one of
// them.
type Policy struct {
	// Name identifies the policy in the cache; two policies with the same
	// name must be the same.
	Name         string
	Authorities  []*Authority
	Attestations []string
}
