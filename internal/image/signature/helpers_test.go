package signature

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/proto"
)

// Test identities.
const (
	testIssuer   = "https://token.actions.example.com"
	testIdentity = "ci@example.com"
	slsaType     = "https://slsa.dev/provenance/v1"
)

// startRegistry runs an in-process registry and returns its host:port
// (127.0.0.1, which go-containerregistry reaches over plain HTTP).
func startRegistry(t testing.TB) (string, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), srv
}

// pushImage pushes a random image to host/repo:tag and returns its digest
// reference.
func pushImage(t testing.TB, host, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// simpleSigningPayload is cosign's payload for an image digest.
func simpleSigningPayload(d name.Digest) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		d.Context().Name(), d.DigestStr())
}

// sigLayer is one layer of a cosign .sig or .att manifest.
type sigLayer struct {
	content     []byte
	mediaType   types.MediaType
	annotations map[string]string
}

// pushClassic writes layers to cosign's sha256-<hex>.<suffix> tag of d.
func pushClassic(t testing.TB, d name.Digest, suffix string, layers ...sigLayer) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.content, l.mediaType), Annotations: l.annotations})
		if err != nil {
			t.Fatal(err)
		}
	}
	tag := d.Context().Tag("sha256-" + strings.TrimPrefix(d.DigestStr(), "sha256:") + "." + suffix)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// pushReferrer attaches a sigstore bundle to d through the referrers API.
// configType is the manifest's config media type, which the test
// registry reports as the artifact type.
func pushReferrer(t testing.TB, d name.Digest, bundleJSON []byte, configType types.MediaType) {
	t.Helper()
	subject, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, configType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(bundleJSON, "application/vnd.dev.sigstore.bundle.v0.3+json")})
	if err != nil {
		t.Fatal(err)
	}
	withSubject := mutate.Subject(img, *subject).(v1.Image)
	dg, err := withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Digest(dg.String()), withSubject); err != nil {
		t.Fatal(err)
	}
}

// keyPair is a cosign-style ECDSA P-256 key.
type keyPair struct {
	priv   *ecdsa.PrivateKey
	pubPEM []byte
}

func newKeyPair(t testing.TB) keyPair {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: priv, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func (k keyPair) sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// signKeyed signs d's simple-signing payload with k as cosign sign --key
// does (without a transparency log upload).
func signKeyed(t testing.TB, k keyPair, d name.Digest) sigLayer {
	payload := simpleSigningPayload(d)
	return sigLayer{content: payload, mediaType: mediaTypeSimpleSigning, annotations: map[string]string{
		annotationSignature: base64.StdEncoding.EncodeToString(k.sign(t, payload)),
	}}
}

// pae is DSSE's pre-authentication encoding.
func pae(payloadType string, body []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(body), body)
}

// statement is an in-toto statement about d.
func statement(d name.Digest, predicateType string) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{"builder":{"id":"https://ci.example.com"}}}`,
		d.Context().Name(), strings.TrimPrefix(d.DigestStr(), "sha256:"), predicateType)
}

// attestKeyed makes a cosign .att layer: a DSSE envelope signed with k.
func attestKeyed(t testing.TB, k keyPair, d name.Digest, predicateType string) sigLayer {
	body := statement(d, predicateType)
	const pt = "application/vnd.in-toto+json"
	env := dsse.Envelope{PayloadType: pt, Payload: base64.StdEncoding.EncodeToString(body),
		Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(k.sign(t, pae(pt, body)))}}}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return sigLayer{content: b, mediaType: mediaTypeDSSE, annotations: map[string]string{"predicateType": predicateType}}
}

// trustedRootJSON writes the virtual sigstore's trust material as a
// trusted_root.json, as cosign trusted-root create would.
func trustedRootJSON(t testing.TB, vs *ca.VirtualSigstore) []byte {
	t.Helper()
	rawIDs := func(m map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for id, l := range m {
			raw, err := hex.DecodeString(id)
			if err != nil {
				t.Fatal(err)
			}
			c := *l
			c.ID = raw
			out[id] = &c
		}
		return out
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), rawIDs(vs.CTLogs()), vs.TimestampingAuthorities(), rawIDs(vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// set returns the Rekor signed entry timestamp of entry, signed by the
// virtual Rekor.
func set(t testing.TB, vs *ca.VirtualSigstore, e *tlog.Entry) []byte {
	t.Helper()
	s, err := vs.RekorSignPayload(tlog.RekorPayload{Body: e.Body(), IntegratedTime: e.IntegratedTime().Unix(), LogIndex: e.LogIndex(), LogID: hex.EncodeToString([]byte(e.LogKeyID()))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signKeyless signs d's payload with a virtual Fulcio certificate for
// identity and logs it in the virtual Rekor, as cosign sign does in
// keyless mode; withLog false drops the Rekor bundle annotation.
func signKeyless(t testing.TB, vs *ca.VirtualSigstore, identity string, d name.Digest, withLog bool) sigLayer {
	t.Helper()
	payload := simpleSigningPayload(d)
	te, err := vs.Sign(identity, testIssuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := te.VerificationContent()
	sc, _ := te.SignatureContent()
	ann := map[string]string{
		annotationSignature:   base64.StdEncoding.EncodeToString(sc.Signature()),
		annotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})),
	}
	if withLog {
		entries, _ := te.TlogEntries()
		e := entries[0]
		rb := map[string]any{
			"SignedEntryTimestamp": set(t, vs, e),
			"Payload": map[string]any{"body": e.TransparencyLogEntry().CanonicalizedBody, "integratedTime": e.IntegratedTime().Unix(),
				"logIndex": e.LogIndex(), "logID": hex.EncodeToString([]byte(e.LogKeyID()))},
		}
		b, err := json.Marshal(rb)
		if err != nil {
			t.Fatal(err)
		}
		ann[annotationBundle] = string(b)
	}
	return sigLayer{content: payload, mediaType: mediaTypeSimpleSigning, annotations: ann}
}

// bundleJSON turns a virtual sigstore entity into a sigstore bundle.
func bundleJSON(t testing.TB, vs *ca.VirtualSigstore, te *ca.TestEntity, kind string) []byte {
	t.Helper()
	vc, _ := te.VerificationContent()
	sc, _ := te.SignatureContent()
	entries, _ := te.TlogEntries()
	mediaType := "application/vnd.dev.sigstore.bundle+json;version=0.1"
	pb := &protobundle.Bundle{VerificationMaterial: &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
	}}
	for _, e := range entries {
		tle := proto.Clone(e.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
		tle.KindVersion = &protorekor.KindVersion{Kind: kind, Version: "0.0.1"}
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set(t, vs, e)}
		if tle.InclusionProof != nil {
			mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
		}
		pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, tle)
	}
	pb.MediaType = mediaType
	if env := sc.EnvelopeContent(); env != nil {
		raw := env.RawEnvelope()
		payload, err := base64.StdEncoding.DecodeString(raw.Payload)
		if err != nil {
			t.Fatal(err)
		}
		pe := &protodsse.Envelope{Payload: payload, PayloadType: raw.PayloadType}
		for _, s := range raw.Signatures {
			sig, err := base64.StdEncoding.DecodeString(s.Sig)
			if err != nil {
				t.Fatal(err)
			}
			pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe}
	} else {
		ms := sc.MessageSignatureContent()
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: ms.Digest()},
			Signature:     ms.Signature(),
		}}
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// manifestOf returns the raw manifest of d.
func manifestOf(t testing.TB, d name.Digest) []byte {
	t.Helper()
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Manifest
}

// keyAuthority and keylessAuthority build authorities for the tests.
func keyAuthority(t testing.TB, k keyPair) *Authority {
	t.Helper()
	a, err := LoadAuthority(&AuthoritySpec{Name: "release-key", PublicKey: k.pubPEM})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func keylessAuthority(t testing.TB, vs *ca.VirtualSigstore, identity string, tlogEntries int) *Authority {
	t.Helper()
	a, err := LoadAuthority(&AuthoritySpec{Name: "ci", TrustedRoot: trustedRootJSON(t, vs), TransparencyLog: tlogEntries,
		Keyless: &KeylessSpec{Issuer: testIssuer, Subject: identity}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func verify1(t testing.TB, v *Verifier, image string, p *Policy) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := v.Verify(ctx, image, p)
	if err != nil {
		t.Fatalf("verify %s: %v", image, err)
	}
	return r
}

