package signature

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
)

// BenchmarkVerify measures one image's verification against an in-process
// registry (loopback HTTP, so network latency is not included): a cache
// miss reads the signature tag (and the referrers, and the attestation
// tag) and verifies; a hit costs a map lookup, plus one HEAD request when
// the reference is a tag. The signature manifests are realistic: three
// signatures of which only the last is by the trusted authority, and for
// keyless a Rekor entry, a referrers bundle and an SLSA attestation.
//
// The rtt20ms cases put 20 ms before every registry answer, as a registry
// in another region would: a miss then costs rounds of latency (the
// signature tag, attestation tag and referrers are read at once), a hit
// on a tag one HEAD (plus the ping).
func BenchmarkVerify(b *testing.B) {
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		name := "loopback"
		if rtt > 0 {
			name = "rtt" + rtt.String()
		}
		b.Run(name, func(b *testing.B) { benchmarkVerify(b, rtt) })
	}
}

func benchmarkVerify(b *testing.B, rtt time.Duration) {
	var slow atomic.Bool
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(rtt)
		}
		reg.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	key, other1, other2 := st.NewKeyPair(b), st.NewKeyPair(b), st.NewKeyPair(b)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		b.Fatal(err)
	}
	keyedImg := st.PushImage(b, host, "bench/keyed", "v1")
	st.PushClassic(b, keyedImg, "sig", st.SignKeyed(b, other1, keyedImg), st.SignKeyed(b, other2, keyedImg), st.SignKeyed(b, key, keyedImg))
	keylessImg := st.PushImage(b, host, "bench/keyless", "v1")
	st.PushClassic(b, keylessImg, "sig", st.SignKeyed(b, other1, keylessImg), st.SignKeyless(b, vs, "someone@example.com", keylessImg, true), st.SignKeyless(b, vs, st.Identity, keylessImg, true))
	te, err := vs.AttestAtTime(st.Identity, st.Issuer, st.Statement(keylessImg, st.SLSAProvenance), time.Now().Add(5*time.Minute), true)
	if err != nil {
		b.Fatal(err)
	}
	st.PushReferrer(b, keylessImg, st.BundleJSON(b, vs, te, "dsse"), st.MediaTypeBundle)

	keyed := &Policy{Name: "keyed", Authorities: []*Authority{keyAuthority(b, key)}}
	keyless := &Policy{Name: "keyless", Authorities: []*Authority{keylessAuthority(b, vs, st.Identity, 1)}, Attestations: []string{st.SLSAProvenance}}
	uncached := NewVerifier(Options{CacheTTL: -1, NegativeTTL: -1})
	cached := NewVerifier(Options{})
	cases := []struct {
		name  string
		v     *Verifier
		image string
		p     *Policy
	}{
		{"miss/keyed", uncached, keyedImg.String(), keyed},
		{"miss/keyless+attestation", uncached, keylessImg.String(), keyless},
		{"hit/digest", cached, keylessImg.String(), keyless},
		{"hit/tag", cached, host + "/bench/keyless:v1", keyless},
	}
	ctx := context.Background()
	slow.Store(true)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.v == cached {
				if _, err := c.v.Verify(ctx, c.image, c.p); err != nil { // warm the cache
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := c.v.Verify(ctx, c.image, c.p)
				if err != nil || !r.Verified {
					b.Fatalf("%+v, %v", r, err)
				}
			}
		})
	}
}
