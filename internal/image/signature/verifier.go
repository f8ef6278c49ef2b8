package signature

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Defaults of Options.
const (
	DefaultMaxResponseBytes = 4 << 20
	DefaultMaxSignatures    = 32
	DefaultCacheTTL         = 5 * time.Minute
	DefaultNegativeTTL      = 30 * time.Second
	DefaultCacheSize        = 10000
)

// maxReasons bounds the reasons a Result keeps.
const maxReasons = 8

// Options configures a Verifier. Zero fields take the defaults.
type Options struct {
	// Keychain finds registry credentials; nil means anonymous access.
	Keychain authn.Keychain
	// Transport makes the registry's HTTP requests; nil clones
	// http.DefaultTransport.
	Transport http.RoundTripper
	// MaxResponseBytes bounds every registry response (manifests, indexes,
	// signature layers, bundles).
	MaxResponseBytes int64
	// MaxSignatures bounds the signature layers and bundles read per image
	// and scheme.
	MaxSignatures int
	// CacheTTL is how long a verified digest stays verified; NegativeTTL
	// how long a refusal is remembered (0 takes the defaults; a negative
	// value disables that half of the cache).
	CacheTTL, NegativeTTL time.Duration
	// CacheSize bounds the cached results (least recently used go first).
	CacheSize int
	// Now is the cache's clock; nil means time.Now.
	Now func() time.Time
}

// Verifier discovers and verifies image signatures. It is safe for
// concurrent use.
type Verifier struct {
	keychain      authn.Keychain
	transport     http.RoundTripper
	maxResponse   int64
	maxSignatures int
	cache         *cache
}

// NewVerifier returns a Verifier with opts.
func NewVerifier(opts Options) *Verifier {
	v := &Verifier{keychain: opts.Keychain, maxResponse: opts.MaxResponseBytes, maxSignatures: opts.MaxSignatures}
	if v.keychain == nil {
		v.keychain = authn.NewMultiKeychain() // anonymous
	}
	if v.maxResponse <= 0 {
		v.maxResponse = DefaultMaxResponseBytes
	}
	if v.maxSignatures <= 0 {
		v.maxSignatures = DefaultMaxSignatures
	}
	next := opts.Transport
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	v.transport = &limitedTransport{next: next, max: v.maxResponse}
	ttl, neg, size := opts.CacheTTL, opts.NegativeTTL, opts.CacheSize
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if neg == 0 {
		neg = DefaultNegativeTTL
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	v.cache = newCache(size, ttl, neg, opts.Now)
	return v
}

// Result is the verdict on one image.
type Result struct {
	// Digest is the digest the image reference names (resolved through the
	// registry for tags).
	Digest string
	// Verified is true when a signature and every required attestation of
	// the digest verified.
	Verified bool
	// Authority names the authority whose signature verified.
	Authority string
	// Missing lists the required attestation predicate types no authority
	// signed.
	Missing []string
	// Reasons say why signatures that were found did not count (at most a
	// few), or that none was found.
	Reasons []string
	// Cached is true when the verdict came from the cache.
	Cached bool
}

// ErrInvalidReference is returned for an image reference that does not
// parse: no registry can be asked about it.
var ErrInvalidReference = errors.New("invalid image reference")

// Resolve returns the digest of an image reference (sha256:...), asking
// the registry for a tag's digest.
func (v *Verifier) Resolve(ctx context.Context, image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidReference, image, err)
	}
	opts, err := v.session(ctx)
	if err != nil {
		return "", err
	}
	d, err := v.resolve(opts, ref)
	if err != nil {
		return "", err
	}
	return d.DigestStr(), nil
}

// Verify resolves image to its digest and verifies its signatures and
// attestations against p. It returns an error only when it could not
// decide: the reference does not parse, the registry fails or times out
// (ctx bounds every call), a response is too large — and no signature
// verified despite the failure. A missing or invalid signature is a Result
// with Verified false, not an error.
func (v *Verifier) Verify(ctx context.Context, image string, p *Policy) (*Result, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalidReference, image, err)
	}
	// A digest reference is answered from the cache without a registry
	// call; a tag needs one request (HEAD) to learn its digest.
	d, pinned := ref.(name.Digest)
	if pinned {
		if r, ok := v.cached(d, p); ok {
			return r, nil
		}
	}
	opts, err := v.session(ctx)
	if err != nil {
		return nil, err
	}
	if !pinned {
		if d, err = v.resolve(opts, ref); err != nil {
			return nil, err
		}
		if r, ok := v.cached(d, p); ok {
			return r, nil
		}
	}
	key := cacheKey(d, p)
	r, err := v.verifyDigest(opts, d, p)
	if err != nil {
		return nil, err
	}
	v.cache.put(key, r)
	return r, nil
}

func cacheKey(d name.Digest, p *Policy) string {
	return d.Context().Name() + "@" + d.DigestStr() + "\x00" + p.Name
}

// cached returns the cached verdict on d under p.
func (v *Verifier) cached(d name.Digest, p *Policy) (*Result, bool) {
	r, ok := v.cache.get(cacheKey(d, p))
	if ok {
		r.Cached = true
	}
	return r, ok
}

// candidate is a signature or attestation found for an image, before
// verification.
type candidate struct {
	where  string
	entity verify.SignedEntity
	// payload is the simple-signing payload of a classic signature.
	payload []byte
}

func (v *Verifier) verifyDigest(opts []remote.Option, d name.Digest, p *Policy) (*Result, error) {
	r := &Result{Digest: d.DigestStr()}
	digestHex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	digestBytes, err := hex.DecodeString(digestHex)
	if err != nil || len(digestBytes) != 32 {
		return nil, fmt.Errorf("digest %s: only sha256 digests are supported", d.DigestStr())
	}
	var fetchErrs []error
	reason := func(format string, args ...any) {
		if len(r.Reasons) < maxReasons {
			r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...))
		}
	}

	// Discover: the three places are read at once, so that a cold
	// verification costs about one round of registry latency, not three.
	var sigs, atts []candidate
	var sigLayers, attLayers []layer
	var bundles [][]byte
	var sigErr, attErr, refErr error
	var wg sync.WaitGroup
	wg.Go(func() { sigLayers, sigErr = v.classicLayers(opts, d, "sig") })
	if len(p.Attestations) > 0 {
		wg.Go(func() { attLayers, attErr = v.classicLayers(opts, d, "att") })
	}
	wg.Go(func() { bundles, refErr = v.referrerBundles(opts, d) })
	wg.Wait()
	for _, err := range []error{sigErr, attErr, refErr} {
		if err != nil {
			fetchErrs = append(fetchErrs, err)
		}
	}
	layers := sigLayers
	for _, l := range layers {
		where := fmt.Sprintf("%s.sig layer %d", digestHex[:12], l.index)
		if l.mediaType != mediaTypeSimpleSigning {
			reason("%s: media type %s is not a simple-signing payload", where, l.mediaType)
			continue
		}
		e, err := simpleSigningEntity(l.content, l.annotations)
		if err != nil {
			reason("%s: %v", where, err)
			continue
		}
		sigs = append(sigs, candidate{where: where, entity: e, payload: l.content})
	}
	if len(p.Attestations) > 0 {
		for _, l := range attLayers {
			where := fmt.Sprintf("%s.att layer %d", digestHex[:12], l.index)
			if l.mediaType != mediaTypeDSSE {
				reason("%s: media type %s is not a DSSE envelope", where, l.mediaType)
				continue
			}
			e, err := dsseEntity(l.content, l.annotations)
			if err != nil {
				reason("%s: %v", where, err)
				continue
			}
			atts = append(atts, candidate{where: where, entity: e})
		}
	}
	for i, raw := range bundles {
		where := fmt.Sprintf("referrers bundle %d", i)
		var b bundle.Bundle
		if err := b.UnmarshalJSON(raw); err != nil {
			reason("%s: %v", where, err)
			continue
		}
		c := candidate{where: where, entity: &b}
		if b.GetDsseEnvelope() == nil {
			sigs = append(sigs, c) // a message signature over the manifest
			continue
		}
		// A DSSE statement: sorted by its (not yet verified) predicate
		// type; cosign's signature predicate is a signature, any other an
		// attestation. Verification decides whether either counts.
		if env, err := b.Envelope(); err == nil {
			if st, err := env.Statement(); err == nil && st.GetPredicateType() == CosignSignPredicate {
				sigs = append(sigs, c)
				continue
			}
		}
		if len(p.Attestations) > 0 {
			atts = append(atts, c)
		}
	}

	// Verify signatures: the first authority that verifies one wins.
	for _, a := range p.Authorities {
		for _, c := range sigs {
			if err := v.verifySignature(a, c, d.DigestStr(), digestBytes); err != nil {
				reason("%s: authority %s: %v", c.where, a.name, err)
				continue
			}
			r.Authority = a.name
			break
		}
		if r.Authority != "" {
			break
		}
	}
	// Attestations: each required predicate type needs one statement about
	// the digest verified by one of the authorities. Each candidate is
	// verified once per authority, until every type is found.
	verified := map[string]bool{}
	need := len(p.Attestations)
	for _, c := range atts {
		if claimed := claimedPredicate(c); claimed != "" && !slices.Contains(p.Attestations, claimed) {
			continue // a statement of a type nobody asked for
		}
		for _, a := range p.Authorities {
			if need == 0 {
				break
			}
			pt, err := verifyAttestation(a, c, digestBytes)
			if err != nil {
				reason("%s: authority %s: %v", c.where, a.name, err)
				continue
			}
			if !verified[pt] && slices.Contains(p.Attestations, pt) {
				need--
			}
			verified[pt] = true
			break
		}
	}
	for _, pt := range p.Attestations {
		if !verified[pt] {
			r.Missing = append(r.Missing, pt)
		}
	}
	r.Verified = r.Authority != "" && len(r.Missing) == 0
	if !r.Verified && len(fetchErrs) > 0 {
		return nil, errors.Join(fetchErrs...)
	}
	if r.Authority == "" && len(sigs) == 0 {
		reason("no signature found (neither cosign's %s.sig tag nor a signature bundle among the referrers)", digestHex[:12])
	}
	return r, nil
}

// verifySignature verifies one signature candidate with an authority and
// checks that it is about the image's digest.
func (v *Verifier) verifySignature(a *Authority, c candidate, digest string, digestBytes []byte) error {
	if c.payload != nil {
		// Classic: the signature is over the simple-signing payload, which
		// must name the digest.
		if _, err := a.verifier.Verify(c.entity, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(c.payload)), a.policyOption())); err != nil {
			return err
		}
		return checkPayload(c.payload, digest)
	}
	// A bundle: a message signature over the manifest, or a DSSE
	// statement whose subject is the manifest.
	res, err := a.verifier.Verify(c.entity, verify.NewPolicy(verify.WithArtifactDigest("sha256", digestBytes), a.policyOption()))
	if err != nil {
		return err
	}
	if res.Statement != nil && res.Statement.GetPredicateType() != CosignSignPredicate {
		return fmt.Errorf("statement of predicate type %s is an attestation, not a signature", res.Statement.GetPredicateType())
	}
	return nil
}

// CosignSignPredicate is the predicate type of the DSSE statement cosign
// signs an image with in the sigstore bundle format.
const CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// claimedPredicate returns the predicate type a DSSE candidate claims
// before verification, or "" when it cannot be read.
func claimedPredicate(c candidate) string {
	sc, err := c.entity.SignatureContent()
	if err != nil || sc.EnvelopeContent() == nil {
		return ""
	}
	st, err := sc.EnvelopeContent().Statement()
	if err != nil {
		return ""
	}
	return st.GetPredicateType()
}

// verifyAttestation verifies a DSSE candidate about the digest and returns
// its predicate type.
func verifyAttestation(a *Authority, c candidate, digestBytes []byte) (string, error) {
	res, err := a.verifier.Verify(c.entity, verify.NewPolicy(verify.WithArtifactDigest("sha256", digestBytes), a.policyOption()))
	if err != nil {
		return "", err
	}
	if res.Statement == nil {
		return "", errors.New("no in-toto statement")
	}
	return res.Statement.GetPredicateType(), nil
}

// Summary is a one-line account of a refusal: what is missing and the
// first reasons.
func (r *Result) Summary() string {
	var parts []string
	if r.Authority == "" {
		parts = append(parts, "no signature by a trusted authority")
	}
	if len(r.Missing) > 0 {
		parts = append(parts, "no verified attestation of type "+strings.Join(r.Missing, ", "))
	}
	s := strings.Join(parts, "; ")
	if len(r.Reasons) > 0 {
		s += " (" + strings.Join(slices.Clip(r.Reasons[:min(3, len(r.Reasons))]), "; ") + ")"
	}
	return s
}
