package signature

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
)

// fixture is a registry with images signed in different ways, a key pair
// and a virtual sigstore (Fulcio, Rekor, TSA).
type fixture struct {
	host string
	srv  *httptest.Server
	key  st.KeyPair
	vs   *ca.VirtualSigstore
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	host, srv := st.StartRegistry(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{host: host, srv: srv, key: st.NewKeyPair(t), vs: vs}
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	other := st.NewKeyPair(t)
	keyed := &Policy{Name: "keyed", Authorities: []*Authority{keyAuthority(t, f.key)}}
	keyless := &Policy{Name: "keyless", Authorities: []*Authority{keylessAuthority(t, f.vs, st.Identity, 1)}}
	keylessNoLog := &Policy{Name: "keyless-nolog", Authorities: []*Authority{keylessAuthority(t, f.vs, st.Identity, 0)}}
	keyedSLSA := &Policy{Name: "keyed-slsa", Authorities: keyed.Authorities, Attestations: []string{st.SLSAProvenance}}
	keylessSLSA := &Policy{Name: "keyless-slsa", Authorities: keyless.Authorities, Attestations: []string{st.SLSAProvenance}}
	tsaAuthority, err := LoadAuthority(&AuthoritySpec{Name: "ci-tsa", TrustedRoot: st.TrustedRootJSON(t, f.vs), Timestamps: 1,
		Keyless: &KeylessSpec{Issuer: st.Issuer, Subject: st.Identity}})
	if err != nil {
		t.Fatal(err)
	}
	keylessTSA := &Policy{Name: "keyless-tsa", Authorities: []*Authority{tsaAuthority}}
	either := &Policy{Name: "either", Authorities: []*Authority{keyAuthority(t, other), keylessAuthority(t, f.vs, st.Identity, 1)}}

	tests := []struct {
		name   string
		setup  func(t *testing.T) string // returns the image reference
		policy *Policy
		want   bool
		reason string // a substring of the reasons or missing attestations
	}{
		{"keyed classic signature, by tag", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "app", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
			return f.host + "/app:v1"
		}, keyed, true, ""},
		{"keyed classic signature, by digest", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "app2", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
			return d.String()
		}, keyed, true, ""},
		{"unsigned", func(t *testing.T) string {
			return st.PushImage(t, f.host, "unsigned", "v1").String()
		}, keyed, false, "no signature found"},
		{"signed by another key", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "otherkey", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, other, d))
			return d.String()
		}, keyed, false, "authority release-key"},
		{"signature copied from another image", func(t *testing.T) string {
			a := st.PushImage(t, f.host, "copy", "a")
			b := st.PushImage(t, f.host, "copy", "b")
			st.PushClassic(t, b, "sig", st.SignKeyed(t, f.key, a))
			return b.String()
		}, keyed, false, "the signature is for image digest"},
		{"tampered payload", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "tampered", "v1")
			l := st.SignKeyed(t, f.key, d)
			l.Content = []byte(strings.Replace(string(l.Content), `"optional":null`, `"optional":{"x":"y"}`, 1))
			st.PushClassic(t, d, "sig", l)
			return d.String()
		}, keyed, false, "authority release-key"},
		{"one good signature among bad ones", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "mixed", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, other, d), st.Layer{Content: []byte("junk"), MediaType: "text/plain"}, st.SignKeyed(t, f.key, d))
			return d.String()
		}, keyed, true, ""},
		{"keyless classic signature with Rekor entry", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			return d.String()
		}, keyless, true, ""},
		{"keyless signature by another identity", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-other", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, "mallory@example.com", d, true))
			return d.String()
		}, keyless, false, "authority ci"},
		{"keyless signature without the required Rekor entry", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-nolog", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, false))
			return d.String()
		}, keyless, false, "authority ci"},
		{"keyless signature is not a key signature", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-vs-key", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			return d.String()
		}, keyed, false, "authority release-key"},
		{"any of several authorities", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "either", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			return d.String()
		}, either, true, ""},
		{"bundle attached as a referrer (message signature over the manifest)", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "referrer", "v1")
			te, err := f.vs.Sign(st.Identity, st.Issuer, st.Manifest(t, d))
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, d, st.BundleJSON(t, f.vs, te, "hashedrekord"), st.MediaTypeEmpty)
			return d.String()
		}, keyless, true, ""},
		{"referrer bundle for another image's manifest", func(t *testing.T) string {
			a := st.PushImage(t, f.host, "referrer-copy", "a")
			b := st.PushImage(t, f.host, "referrer-copy", "b")
			te, err := f.vs.Sign(st.Identity, st.Issuer, st.Manifest(t, a))
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, b, st.BundleJSON(t, f.vs, te, "hashedrekord"), st.MediaTypeEmpty)
			return b.String()
		}, keyless, false, "referrers bundle 0"},
		{"keyed signature and SLSA attestation (cosign .att)", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "att", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
			st.PushClassic(t, d, "att", st.AttestKeyed(t, f.key, d, st.SLSAProvenance))
			return d.String()
		}, keyedSLSA, true, ""},
		{"attestation of another predicate type", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "att-other", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
			st.PushClassic(t, d, "att", st.AttestKeyed(t, f.key, d, "https://cosign.sigstore.dev/attestation/vuln/v1"))
			return d.String()
		}, keyedSLSA, false, st.SLSAProvenance},
		{"attestation signed by another key", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "att-otherkey", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
			st.PushClassic(t, d, "att", st.AttestKeyed(t, other, d, st.SLSAProvenance))
			return d.String()
		}, keyedSLSA, false, st.SLSAProvenance},
		{"attestation about another image", func(t *testing.T) string {
			a := st.PushImage(t, f.host, "att-copy", "a")
			b := st.PushImage(t, f.host, "att-copy", "b")
			st.PushClassic(t, b, "sig", st.SignKeyed(t, f.key, b))
			st.PushClassic(t, b, "att", st.AttestKeyed(t, f.key, a, st.SLSAProvenance))
			return b.String()
		}, keyedSLSA, false, st.SLSAProvenance},
		{"keyless signature and attestation as referrer bundles (v0.3, inclusion proof)", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-att", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			te, err := f.vs.AttestAtTime(st.Identity, st.Issuer, st.Statement(d, st.SLSAProvenance), time.Now().Add(5*time.Minute), true)
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, d, st.BundleJSON(t, f.vs, te, "dsse"), "application/vnd.dev.sigstore.bundle.v0.3+json")
			return d.String()
		}, keylessSLSA, true, ""},
		{"keyless attestation by another identity", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-att-other", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			te, err := f.vs.AttestAtTime("mallory@example.com", st.Issuer, st.Statement(d, st.SLSAProvenance), time.Now().Add(5*time.Minute), true)
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, d, st.BundleJSON(t, f.vs, te, "dsse"), "application/vnd.dev.sigstore.bundle.v0.3+json")
			return d.String()
		}, keylessSLSA, false, st.SLSAProvenance},
		{"cosign's bundle format: a DSSE statement of the sign predicate among the referrers", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "newbundle", "v1")
			te, err := f.vs.AttestAtTime(st.Identity, st.Issuer, st.Statement(d, CosignSignPredicate), time.Now().Add(5*time.Minute), true)
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, d, st.BundleJSON(t, f.vs, te, "dsse"), st.MediaTypeBundle)
			return d.String()
		}, keyless, true, ""},
		{"an SLSA statement is no signature", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "attonly", "v1")
			te, err := f.vs.AttestAtTime(st.Identity, st.Issuer, st.Statement(d, st.SLSAProvenance), time.Now().Add(5*time.Minute), true)
			if err != nil {
				t.Fatal(err)
			}
			st.PushReferrer(t, d, st.BundleJSON(t, f.vs, te, "dsse"), st.MediaTypeBundle)
			return d.String()
		}, keylessSLSA, false, "no signature found"},
		{"keyless signature and attestation in cosign's classic scheme (Rekor dsse entry)", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-classic-att", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			st.PushClassic(t, d, "att", st.AttestKeyless(t, f.vs, "mallory@example.com", d, st.SLSAProvenance), st.AttestKeyless(t, f.vs, st.Identity, d, st.SLSAProvenance))
			return d.String()
		}, keylessSLSA, true, ""},
		{"keyless attestation in the classic scheme by another identity only", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-classic-att-other", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			st.PushClassic(t, d, "att", st.AttestKeyless(t, f.vs, "mallory@example.com", d, st.SLSAProvenance))
			return d.String()
		}, keylessSLSA, false, "got \"mallory@example.com\""},
		{"keyless signature with an RFC 3161 timestamp instead of a log entry", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-tsa", "v1")
			st.PushClassic(t, d, "sig", st.SignKeylessWith(t, f.vs, st.Identity, d, false, true))
			return d.String()
		}, keylessTSA, true, ""},
		{"keyless signature without the required timestamp", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-notsa", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, true))
			return d.String()
		}, keylessTSA, false, "timestamp"},
		{"keyless without log entries: the certificate must be valid now", func(t *testing.T) string {
			d := st.PushImage(t, f.host, "keyless-now", "v1")
			st.PushClassic(t, d, "sig", st.SignKeyless(t, f.vs, st.Identity, d, false))
			return d.String()
		}, keylessNoLog, true, ""},
	}
	v := NewVerifier(Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			image := tc.setup(t)
			r := verify1(t, v, image, tc.policy)
			t.Logf("%s: verified %v by %q, missing %q, reasons %q", image, r.Verified, r.Authority, r.Missing, r.Reasons)
			if r.Verified != tc.want {
				t.Fatalf("verified = %v, want %v; result %+v", r.Verified, tc.want, r)
			}
			if tc.reason != "" {
				all := strings.Join(append(append([]string{}, r.Reasons...), r.Missing...), "\n")
				if !strings.Contains(all, tc.reason) {
					t.Errorf("reasons %q, want one containing %q", all, tc.reason)
				}
			}
			if !strings.HasPrefix(r.Digest, "sha256:") {
				t.Errorf("digest %q", r.Digest)
			}
		})
	}
}

// TestExpiredCertificate signs with a certificate that expired an hour
// ago: without a log entry or timestamp to prove it was valid when it
// signed, the signature does not verify.
func TestExpiredCertificate(t *testing.T) {
	host, _ := st.StartRegistry(t)
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.GenerateLeafCert(st.Identity, st.Issuer, time.Now().Add(-2*time.Hour), leafKey, inter, interKey)
	if err != nil {
		t.Fatal(err)
	}
	fulcio := &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{inter}, ValidityPeriodStart: time.Now().Add(-5 * time.Hour), URI: "https://fulcio.test"}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	d := st.PushImage(t, host, "expired", "v1")
	payload := st.Payload(d)
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, leafKey, h[:])
	if err != nil {
		t.Fatal(err)
	}
	st.PushClassic(t, d, "sig", st.Layer{Content: payload, MediaType: mediaTypeSimpleSigning, Annotations: map[string]string{
		annotationSignature:   base64.StdEncoding.EncodeToString(sig),
		annotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})),
	}})
	v := NewVerifier(Options{})
	for _, tlog := range []int{0, 1} {
		a, err := LoadAuthority(&AuthoritySpec{Name: "ci", TrustedRoot: trJSON, TransparencyLog: tlog, Keyless: &KeylessSpec{Issuer: st.Issuer, Subject: st.Identity}})
		if err != nil {
			t.Fatal(err)
		}
		r := verify1(t, v, d.String(), &Policy{Name: "p" + string(rune('0'+tlog)), Authorities: []*Authority{a}})
		if r.Verified {
			t.Errorf("transparencyLog %d: an expired certificate without a timestamp verified: %+v", tlog, r)
		}
	}
	// The same identity with a valid certificate verifies (the test can
	// fail for the right reason only).
	leaf2, err := ca.GenerateLeafCert(st.Identity, st.Issuer, time.Now().Add(-time.Minute), leafKey, inter, interKey)
	if err != nil {
		t.Fatal(err)
	}
	d2 := st.PushImage(t, host, "expired", "v2")
	payload2 := st.Payload(d2)
	h2 := sha256.Sum256(payload2)
	sig2, _ := ecdsa.SignASN1(rand.Reader, leafKey, h2[:])
	st.PushClassic(t, d2, "sig", st.Layer{Content: payload2, MediaType: mediaTypeSimpleSigning, Annotations: map[string]string{
		annotationSignature:   base64.StdEncoding.EncodeToString(sig2),
		annotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf2.Raw})),
	}})
	a, err := LoadAuthority(&AuthoritySpec{Name: "ci", TrustedRoot: trJSON, Keyless: &KeylessSpec{Issuer: st.Issuer, Subject: st.Identity}})
	if err != nil {
		t.Fatal(err)
	}
	if r := verify1(t, v, d2.String(), &Policy{Name: "valid", Authorities: []*Authority{a}}); !r.Verified {
		t.Errorf("a valid certificate did not verify: %+v", r)
	}
}

// TestRegistryFailures: a registry that is down, or answers with a huge
// or malformed manifest, is an error (the webhook's failureAction
// decides), never a verdict.
func TestRegistryFailures(t *testing.T) {
	key := st.NewKeyPair(t)
	p := &Policy{Name: "keyed", Authorities: []*Authority{keyAuthority(t, key)}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/sha256-") && r.Method == http.MethodGet {
			switch mode {
			case "huge":
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				chunk := []byte(strings.Repeat(" ", 1<<16))
				for range 200 { // 12.5 MiB, no Content-Length
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				return
			case "malformed":
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				w.Write([]byte(`{"schemaVersion":2,"layers":[{"mediaType":`))
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	host := strings.TrimPrefix(srv.URL, "http://")
	d := st.PushImage(t, host, "app", "v1")
	st.PushClassic(t, d, "sig", st.SignKeyed(t, key, d))
	v := NewVerifier(Options{MaxResponseBytes: 1 << 20, CacheTTL: -1, NegativeTTL: -1})
	ctx := context.Background()

	if r, err := v.Verify(ctx, d.String(), p); err != nil || !r.Verified {
		t.Fatalf("baseline: %+v, %v", r, err)
	}
	for _, m := range []string{"huge", "malformed"} {
		mode = m
		r, err := v.Verify(ctx, d.String(), p)
		if err == nil {
			t.Errorf("%s manifest: got %+v, want an error", m, r)
		} else if m == "huge" && !errors.Is(err, errTooLarge) {
			t.Errorf("huge manifest: %v, want errTooLarge", err)
		}
	}
	mode = ""
	srv.Close()
	if r, err := v.Verify(ctx, d.String(), p); err == nil {
		t.Errorf("registry down: got %+v, want an error", r)
	}
	if _, err := v.Verify(ctx, host+"/app:v1", p); err == nil {
		t.Errorf("registry down, tag: want an error")
	}
	// A deadline bounds every call.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := v.Verify(tctx, strings.TrimPrefix(slow.URL, "http://")+"/app:v1", p); err == nil {
		t.Errorf("hanging registry: want an error")
	}
}

// TestCache: a verified digest is answered from the cache, even once the
// registry is gone; entries expire and the cache stays within its size.
func TestCache(t *testing.T) {
	f := newFixture(t)
	p := &Policy{Name: "keyed", Authorities: []*Authority{keyAuthority(t, f.key)}}
	now := time.Now()
	clock := func() time.Time { return now }
	v := NewVerifier(Options{CacheSize: 2, CacheTTL: time.Minute, Now: clock})
	var refs []name.Digest
	for _, tag := range []string{"a", "b", "c"} {
		d := st.PushImage(t, f.host, "cached", tag)
		st.PushClassic(t, d, "sig", st.SignKeyed(t, f.key, d))
		refs = append(refs, d)
	}
	if r := verify1(t, v, refs[0].String(), p); !r.Verified || r.Cached {
		t.Fatalf("first: %+v", r)
	}
	if r := verify1(t, v, refs[0].String(), p); !r.Verified || !r.Cached {
		t.Fatalf("second: %+v, want cached", r)
	}
	verify1(t, v, refs[1].String(), p)
	verify1(t, v, refs[2].String(), p)
	if n := v.cache.len(); n != 2 {
		t.Errorf("cache holds %d, want 2", n)
	}
	f.srv.Close()
	if r := verify1(t, v, refs[2].String(), p); !r.Cached {
		t.Errorf("recent entry not cached: %+v", r)
	}
	if _, err := v.Verify(context.Background(), refs[0].String(), p); err == nil {
		t.Errorf("evicted entry answered without the registry")
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(context.Background(), refs[2].String(), p); err == nil {
		t.Errorf("expired entry answered without the registry")
	}
}

func TestLoadAuthorityErrors(t *testing.T) {
	key := st.NewKeyPair(t)
	tests := []struct {
		name string
		spec AuthoritySpec
		want string
	}{
		{"nothing", AuthoritySpec{}, "exactly one"},
		{"both", AuthoritySpec{PublicKey: key.PublicPEM, Keyless: &KeylessSpec{}}, "exactly one"},
		{"bad key", AuthoritySpec{PublicKey: []byte("nope")}, "public key"},
		{"keyless without root", AuthoritySpec{Keyless: &KeylessSpec{Issuer: "i", Subject: "s"}}, "trusted root"},
		{"bad root", AuthoritySpec{TrustedRoot: []byte("{"), Keyless: &KeylessSpec{Issuer: "i", Subject: "s"}}, "trusted root"},
		{"keyed log without root", AuthoritySpec{PublicKey: key.PublicPEM, TransparencyLog: 1}, "trusted root"},
		{"no subject", AuthoritySpec{TrustedRoot: []byte("{}"), Keyless: &KeylessSpec{Issuer: "i"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadAuthority(&tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
