package signature

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Annotations and media types of cosign's classic scheme
// (cosign's specs/SIGNATURE_SPEC.md and ATTESTATION_SPEC.md).
const (
	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationChain       = "dev.sigstore.cosign/chain"
	annotationBundle      = "dev.sigstore.cosign/bundle"
	annotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"

	mediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	mediaTypeDSSE          = "application/vnd.dsse.envelope.v1+json"

	// simpleSigningType is critical.type of a cosign image signature.
	simpleSigningType = "cosign container image signature"
)

// entity is a signature read from cosign's classic scheme, in the shape
// sigstore-go verifies. It implements verify.SignedEntity.
type entity struct {
	// cert is the keyless signing certificate; nil for a key signature.
	cert        *x509.Certificate
	sig         verify.SignatureContent
	tlogEntries []*tlog.Entry
	timestamps  [][]byte
}

var _ verify.SignedEntity = (*entity)(nil)

func (e *entity) VerificationContent() (verify.VerificationContent, error) {
	if e.cert != nil {
		return bundle.NewCertificate(e.cert), nil
	}
	return keyContent{}, nil
}

func (e *entity) SignatureContent() (verify.SignatureContent, error) { return e.sig, nil }
func (e *entity) Timestamps() ([][]byte, error)                      { return e.timestamps, nil }
func (e *entity) TlogEntries() ([]*tlog.Entry, error)                { return e.tlogEntries, nil }
func (e *entity) Version() (string, error)                           { return "v0.1", nil }
func (e *entity) HasInclusionPromise() bool                          { return len(e.tlogEntries) > 0 }

func (e *entity) HasInclusionProof() bool {
	for _, t := range e.tlogEntries {
		if t.HasInclusionProof() {
			return true
		}
	}
	return false
}

// keyContent is the verification material of a signature made with a key:
// the authority's trusted material holds the key (under any hint).
type keyContent struct{}

func (keyContent) CompareKey(key any, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	if err != nil {
		return false
	}
	pub, err := v.PublicKey()
	if err != nil {
		return false
	}
	eq, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}

func (keyContent) ValidAtTime(t time.Time, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	return err == nil && v.ValidAtTime(t)
}

func (keyContent) Certificate() *x509.Certificate      { return nil }
func (keyContent) Intermediates() []*x509.Certificate  { return nil }
func (keyContent) PublicKey() verify.PublicKeyProvider { return keyContent{} }
func (keyContent) Hint() string                        { return "" }

// rekorBundle is the dev.sigstore.cosign/bundle annotation: a Rekor entry
// with its signed entry timestamp (an inclusion promise).
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           []byte `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// timestampAnnotation is the dev.sigstore.cosign/rfc3161timestamp annotation.
type timestampAnnotation struct {
	SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
}

// classicMaterial reads the certificate, Rekor entry and timestamp that
// cosign stores in a layer's annotations into e.
func classicMaterial(e *entity, ann map[string]string) error {
	if pemCert := ann[annotationCertificate]; pemCert != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pemCert))
		if err != nil || len(certs) == 0 {
			return fmt.Errorf("annotation %s: not a PEM certificate", annotationCertificate)
		}
		e.cert = certs[0]
	}
	if b := ann[annotationBundle]; b != "" {
		var rb rekorBundle
		if err := json.Unmarshal([]byte(b), &rb); err != nil {
			return fmt.Errorf("annotation %s: %w", annotationBundle, err)
		}
		logID, err := hex.DecodeString(rb.Payload.LogID)
		if err != nil {
			return fmt.Errorf("annotation %s: logID: %w", annotationBundle, err)
		}
		var kv struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(rb.Payload.Body, &kv); err != nil {
			return fmt.Errorf("annotation %s: Rekor entry body: %w", annotationBundle, err)
		}
		entry, err := tlog.NewTlogEntry(&protorekor.TransparencyLogEntry{
			LogIndex:          rb.Payload.LogIndex,
			LogId:             &protocommon.LogId{KeyId: logID},
			KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
			IntegratedTime:    rb.Payload.IntegratedTime,
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
			CanonicalizedBody: rb.Payload.Body,
		})
		if err != nil {
			return fmt.Errorf("annotation %s: Rekor entry: %w", annotationBundle, err)
		}
		e.tlogEntries = append(e.tlogEntries, entry)
	}
	if ts := ann[annotationTimestamp]; ts != "" {
		var ta timestampAnnotation
		if err := json.Unmarshal([]byte(ts), &ta); err != nil {
			return fmt.Errorf("annotation %s: %w", annotationTimestamp, err)
		}
		e.timestamps = append(e.timestamps, ta.SignedRFC3161Timestamp)
	}
	return nil
}

// simpleSigningEntity reads a layer of a .sig manifest: the simple-signing
// payload with its signature annotation.
func simpleSigningEntity(payload []byte, ann map[string]string) (*entity, error) {
	b64 := ann[annotationSignature]
	if b64 == "" {
		return nil, fmt.Errorf("no %s annotation", annotationSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", annotationSignature, err)
	}
	d := sha256.Sum256(payload)
	e := &entity{sig: bundle.NewMessageSignature(d[:], "SHA2_256", sig)}
	if err := classicMaterial(e, ann); err != nil {
		return nil, err
	}
	return e, nil
}

// dsseEntity reads a layer of a .att manifest: a DSSE envelope.
func dsseEntity(envelope []byte, ann map[string]string) (*entity, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("DSSE envelope: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("DSSE envelope without signatures")
	}
	e := &entity{sig: &bundle.Envelope{Envelope: &env}}
	if err := classicMaterial(e, ann); err != nil {
		return nil, err
	}
	return e, nil
}

// simpleSigning is the part of cosign's simple-signing payload that binds
// a signature to an image.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// checkPayload checks that a verified simple-signing payload names digest.
func checkPayload(payload []byte, digest string) error {
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("simple-signing payload: %w", err)
	}
	if p.Critical.Type != simpleSigningType {
		return fmt.Errorf("simple-signing payload: critical.type %q, want %q", p.Critical.Type, simpleSigningType)
	}
	if p.Critical.Image.DockerManifestDigest != digest {
		return fmt.Errorf("the signature is for image digest %s (%s), not %s", p.Critical.Image.DockerManifestDigest, p.Critical.Identity.DockerReference, digest)
	}
	return nil
}
