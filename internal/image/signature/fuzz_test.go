package signature

import (
	"testing"
)

// FuzzClassicLayer feeds arbitrary layer content and annotations to the
// readers of cosign's classic scheme: they must return an entity or an
// error, never panic.
func FuzzClassicLayer(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"}}`),
		"MEUCIQ==", "", `{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":0,"logID":"00"}}`, `{"SignedRFC3161Timestamp":"AA=="}`)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}`),
		"", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", "", "")
	f.Fuzz(func(t *testing.T, content []byte, sig, cert, bundle, ts string) {
		ann := map[string]string{annotationSignature: sig, annotationCertificate: cert, annotationBundle: bundle, annotationTimestamp: ts}
		if e, err := simpleSigningEntity(content, ann); err == nil && e.sig == nil {
			t.Fatal("entity without signature content")
		}
		_ = checkPayload(content, "sha256:00")
		if e, err := dsseEntity(content, ann); err == nil && e.sig == nil {
			t.Fatal("entity without signature content")
		}
	})
}
