package signature

import (
	"context"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
)

// keyAuthority and keylessAuthority build authorities for the tests.
func keyAuthority(t testing.TB, k st.KeyPair) *Authority {
	t.Helper()
	a, err := LoadAuthority(&AuthoritySpec{Name: "release-key", PublicKey: k.PublicPEM})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func keylessAuthority(t testing.TB, vs *ca.VirtualSigstore, identity string, tlogEntries int) *Authority {
	t.Helper()
	a, err := LoadAuthority(&AuthoritySpec{Name: "ci", TrustedRoot: st.TrustedRootJSON(t, vs), TransparencyLog: tlogEntries,
		Keyless: &KeylessSpec{Issuer: st.Issuer, Subject: identity}})
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
