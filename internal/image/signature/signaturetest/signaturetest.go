// Package signaturetest signs images in an in-process registry the way
// cosign does, for tests: a registry (go-containerregistry's
// pkg/registry), images, key signatures and attestations in cosign's
// classic scheme, keyless ones made with sigstore-go's virtual sigstore
// (Fulcio, Rekor, TSA) and its trusted root, and sigstore bundles attached
// as OCI referrers. Only tests import it.
package signaturetest

import (
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
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

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

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// Test identities and cosign's annotations and media types (cosign's
// specs/SIGNATURE_SPEC.md), written here as a signer writes them.
const (
	AnnotationSignature    = "dev.cosignproject.cosign/signature"
	AnnotationCertificate  = "dev.sigstore.cosign/certificate"
	AnnotationBundle       = "dev.sigstore.cosign/bundle"
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	MediaTypeDSSE          = "application/vnd.dsse.envelope.v1+json"
	MediaTypeEmpty         = "application/vnd.oci.empty.v1+json"
	MediaTypeBundle        = "application/vnd.dev.sigstore.bundle.v0.3+json"

	Issuer         = "https://token.actions.example.com"
	Identity       = "ci@example.com"
	SLSAProvenance = "https://slsa.dev/provenance/v1"
)

// StartRegistry runs an in-process registry and returns its host:port
// (127.0.0.1, which go-containerregistry reaches over plain HTTP).
func StartRegistry(t testing.TB) (string, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), srv
}

// PushImage pushes a random image to host/repo:tag and returns its digest
// reference.
func PushImage(t testing.TB, host, repo, tag string) name.Digest {
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

// Payload is cosign's payload for an image digest.
func Payload(d name.Digest) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		d.Context().Name(), d.DigestStr())
}

// Layer is one layer of a cosign .sig or .att manifest.
type Layer struct {
	Content     []byte
	MediaType   types.MediaType
	Annotations map[string]string
}

// PushClassic writes layers to cosign's sha256-<hex>.<suffix> tag of d.
func PushClassic(t testing.TB, d name.Digest, suffix string, layers ...Layer) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.Content, l.MediaType), Annotations: l.Annotations})
		if err != nil {
			t.Fatal(err)
		}
	}
	tag := d.Context().Tag("sha256-" + strings.TrimPrefix(d.DigestStr(), "sha256:") + "." + suffix)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// PushReferrer attaches a sigstore bundle to d through the referrers API.
// configType is the manifest's config media type, which the test
// registry reports as the artifact type.
func PushReferrer(t testing.TB, d name.Digest, BundleJSON []byte, configType types.MediaType) {
	t.Helper()
	subject, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, configType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(BundleJSON, MediaTypeBundle)})
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

// KeyPair is a cosign-style ECDSA P-256 key.
type KeyPair struct {
	Priv *ecdsa.PrivateKey
	// PublicPEM is the public key as cosign.pub holds it.
	PublicPEM []byte
}

func NewKeyPair(t testing.TB) KeyPair {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return KeyPair{Priv: priv, PublicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func (k KeyPair) Sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k.Priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// SignKeyed signs d's simple-signing payload with k as cosign sign --key
// does (without a transparency log upload).
func SignKeyed(t testing.TB, k KeyPair, d name.Digest) Layer {
	payload := Payload(d)
	return Layer{Content: payload, MediaType: MediaTypeSimpleSigning, Annotations: map[string]string{
		AnnotationSignature: base64.StdEncoding.EncodeToString(k.Sign(t, payload)),
	}}
}

// pae is DSSE's pre-authentication encoding.
func pae(payloadType string, body []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(body), body)
}

// Statement is an in-toto Statement about d.
func Statement(d name.Digest, predicateType string) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{"builder":{"id":"https://ci.example.com"}}}`,
		d.Context().Name(), strings.TrimPrefix(d.DigestStr(), "sha256:"), predicateType)
}

// AttestKeyed makes a cosign .att layer: a DSSE envelope signed with k.
func AttestKeyed(t testing.TB, k KeyPair, d name.Digest, predicateType string) Layer {
	body := Statement(d, predicateType)
	const pt = "application/vnd.in-toto+json"
	env := dsse.Envelope{PayloadType: pt, Payload: base64.StdEncoding.EncodeToString(body),
		Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(k.Sign(t, pae(pt, body)))}}}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return Layer{Content: b, MediaType: MediaTypeDSSE, Annotations: map[string]string{"predicateType": predicateType}}
}

// TrustedRootJSON writes the virtual sigstore's trust material as a
// trusted_root.json, as cosign trusted-root create would.
func TrustedRootJSON(t testing.TB, vs *ca.VirtualSigstore) []byte {
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
func SET(t testing.TB, vs *ca.VirtualSigstore, e *tlog.Entry) []byte {
	t.Helper()
	s, err := vs.RekorSignPayload(tlog.RekorPayload{Body: e.Body(), IntegratedTime: e.IntegratedTime().Unix(), LogIndex: e.LogIndex(), LogID: hex.EncodeToString([]byte(e.LogKeyID()))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SignKeyless signs d's payload with a virtual Fulcio certificate for
// identity and logs it in the virtual Rekor, as cosign sign does in
// keyless mode; withLog false drops the Rekor bundle annotation.
func SignKeyless(t testing.TB, vs *ca.VirtualSigstore, identity string, d name.Digest, withLog bool) Layer {
	t.Helper()
	return SignKeylessWith(t, vs, identity, d, withLog, false)
}

// SignKeylessWith is SignKeyless that may also attach the virtual TSA's
// RFC 3161 timestamp of the signature (the
// dev.sigstore.cosign/rfc3161timestamp annotation).
func SignKeylessWith(t testing.TB, vs *ca.VirtualSigstore, identity string, d name.Digest, withLog, withTimestamp bool) Layer {
	t.Helper()
	payload := Payload(d)
	te, err := vs.Sign(identity, Issuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := te.VerificationContent()
	sc, _ := te.SignatureContent()
	ann := map[string]string{
		AnnotationSignature:   base64.StdEncoding.EncodeToString(sc.Signature()),
		AnnotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})),
	}
	if withLog {
		entries, _ := te.TlogEntries()
		ann[AnnotationBundle] = rekorAnnotation(t, vs, entries[0])
	}
	if withTimestamp {
		ts, _ := te.Timestamps()
		b, err := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts[0]})
		if err != nil {
			t.Fatal(err)
		}
		ann["dev.sigstore.cosign/rfc3161timestamp"] = string(b)
	}
	return Layer{Content: payload, MediaType: MediaTypeSimpleSigning, Annotations: ann}
}

// rekorAnnotation is cosign's dev.sigstore.cosign/bundle annotation for a
// virtual Rekor entry.
func rekorAnnotation(t testing.TB, vs *ca.VirtualSigstore, e *tlog.Entry) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": SET(t, vs, e),
		"Payload": map[string]any{"body": e.TransparencyLogEntry().CanonicalizedBody, "integratedTime": e.IntegratedTime().Unix(),
			"logIndex": e.LogIndex(), "logID": hex.EncodeToString([]byte(e.LogKeyID()))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// AttestKeyless makes a cosign .att layer in keyless mode: a DSSE
// envelope signed with a virtual Fulcio certificate for identity and
// logged in the virtual Rekor (a dsse entry).
func AttestKeyless(t testing.TB, vs *ca.VirtualSigstore, identity string, d name.Digest, predicateType string) Layer {
	t.Helper()
	te, err := vs.Attest(identity, Issuer, Statement(d, predicateType))
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := te.VerificationContent()
	sc, _ := te.SignatureContent()
	entries, _ := te.TlogEntries()
	env, err := json.Marshal(sc.EnvelopeContent().RawEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	return Layer{Content: env, MediaType: MediaTypeDSSE, Annotations: map[string]string{
		"predicateType":       predicateType,
		AnnotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})),
		AnnotationBundle:      rekorAnnotation(t, vs, entries[0]),
	}}
}

// BundleJSON turns a virtual sigstore entity into a sigstore bundle.
func BundleJSON(t testing.TB, vs *ca.VirtualSigstore, te *ca.TestEntity, kind string) []byte {
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
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: SET(t, vs, e)}
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

// Manifest returns the raw manifest of d.
func Manifest(t testing.TB, d name.Digest) []byte {
	t.Helper()
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Manifest
}
