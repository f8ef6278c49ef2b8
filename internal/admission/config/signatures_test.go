package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseVerifiedImages(t *testing.T) {
	c, err := Parse([]byte(`
governance:
  verifiedImages:
    action: enforce
    cacheTTL: 10m
    images:
      - name: prod
        images: ["registry.example.com/*"]
        exclude: ["registry.example.com/sandbox/*"]
        requireDigest: true
        authorities:
          - name: release
            key: /etc/kordon/cosign.pub
          - name: ci
            trustedRoot: /etc/kordon/trusted_root.json
            keyless: {issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github\.com/example/'}
            transparencyLog: 1
            signedCertificateTimestamps: 0
        attestations: [{predicateType: https://slsa.dev/provenance/v1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	vi := c.Governance.VerifiedImages
	if vi == nil || len(vi.Images) != 1 || vi.CacheTTL.Duration != 10*time.Minute {
		t.Fatalf("got %+v", vi)
	}
	a := vi.Images[0].Authorities[1]
	if a.Keyless == nil || a.SignedCertificateTimestamps == nil || *a.SignedCertificateTimestamps != 0 || *a.TransparencyLog != 1 {
		t.Errorf("keyless authority: got %+v", a)
	}
}

func TestParseVerifiedImagesErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no images", "governance: {verifiedImages: {action: enforce}}", []string{"governance.verifiedImages.images: list at least one entry"}},
		{"no authority", "governance: {verifiedImages: {action: enforce, images: [{name: a, images: ['*']}]}}",
			[]string{"governance.verifiedImages.images[0].authorities: list at least one"}},
		{"key and keyless", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, key: /k, keyless: {issuer: i, subject: s}, trustedRoot: /r}]}]}}",
			[]string{"authorities[0]: set exactly one of key, publicKey and keyless"}},
		{"keyless without root", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, keyless: {issuer: i}}]}]}}",
			[]string{"authorities[0].trustedRoot: keyless verification needs a trusted root", "authorities[0].keyless: set exactly one of subject and subjectRegExp"}},
		{"bad regexp", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, trustedRoot: /r, keyless: {issuer: i, subjectRegExp: '('}}]}]}}",
			[]string{"authorities[0].keyless.subjectRegExp"}},
		{"bad pattern", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['x@sha256:1'], authorities: [{name: k, key: /k}]}]}}",
			[]string{`images[0].images[0]: "x@sha256:1" is not a registry/repository pattern`}},
		{"unknown field", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, key: /k, transparencylog: 1}]}]}}",
			[]string{`unknown field "transparencylog" (did you mean transparencyLog?)`}},
		{"key log without root", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, key: /k, transparencyLog: 1}]}]}}",
			[]string{"authorities[0].trustedRoot: is needed to verify transparency log entries"}},
		{"missing predicate", "governance: {verifiedImages: {action: warn, images: [{name: a, images: ['*'], authorities: [{name: k, key: /k}], attestations: [{}]}]}}",
			[]string{"attestations[0].predicateType: is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
