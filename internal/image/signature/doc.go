// Package signature verifies the sigstore signatures and attestations of
// container images in their registry, for admission: an image reference is
// resolved to its digest, its signatures are discovered in cosign's classic
// scheme (the sha256-<hex>.sig and .att tags) and as sigstore bundles
// attached through the OCI 1.1 referrers API (or its tag fallback), and
// each is verified with sigstore-go against the configured authorities —
// public keys, or keyless identities (certificate issuer and subject)
// under a trusted root.
//
// A signature counts only for the digest it names: the simple-signing
// payload's critical.image.docker-manifest-digest, the signed artifact's
// digest, or the in-toto statement's subject must be the image's digest, so
// that a signature copied from another image is refused.
//
// Registry calls are bounded by the caller's context, a response size
// limit and a limit on the signatures read per image; verified results are
// cached by digest for a configurable time in a cache of bounded size.
// A Verifier is safe for concurrent use.
package signature
