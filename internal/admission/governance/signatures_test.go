package governance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/admission/config"
	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
)

// pod returns a Pod with the given init and regular container images.
func podWith(inits, containers []string) string {
	list := func(images []string, prefix string) string {
		var parts []string
		for i, img := range images {
			parts = append(parts, fmt.Sprintf("{name: %s%d, image: %q}", prefix, i, img))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  initContainers: %s\n  containers: %s\n",
		list(inits, "init"), list(containers, "c"))
}

func TestVerifiedImages(t *testing.T) {
	host, _ := st.StartRegistry(t)
	key, other := st.NewKeyPair(t), st.NewKeyPair(t)
	keyFile := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(keyFile, key.PublicPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	signed := st.PushImage(t, host, "team/app", "v1")
	st.PushClassic(t, signed, "sig", st.SignKeyed(t, key, signed))
	unsigned := st.PushImage(t, host, "team/tool", "v1")
	foreign := st.PushImage(t, host, "team/foreign", "v1")
	st.PushClassic(t, foreign, "sig", st.SignKeyed(t, other, foreign))
	pinned := st.PushImage(t, host, "pinned/app", "v1")
	st.PushClassic(t, pinned, "sig", st.SignKeyed(t, key, pinned))

	cfg := &config.VerifiedImages{Images: []config.ImageVerification{
		{Name: "team", Images: []string{host + "/team/*"}, Authorities: []config.SignatureAuthority{{Name: "release", Key: keyFile}}},
		{Name: "pinned", Images: []string{host + "/pinned/*"}, RequireDigest: true, Authorities: []config.SignatureAuthority{{Name: "release", PublicKey: string(key.PublicPEM)}}},
	}}
	p, err := NewVerifiedImages(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		op       string
		new, old string
		want     []string
	}{
		{"signed by digest", Create, podWith(nil, []string{signed.String()}), "", nil},
		{"signed by tag", Create, podWith(nil, []string{host + "/team/app:v1"}), "", nil},
		{"unsigned init container", Create, podWith([]string{unsigned.String()}, []string{signed.String()}), "",
			[]string{"container init0: image " + unsigned.String() + ": no signature by a trusted authority (no signature found"}},
		{"signed by another key", Create, podWith(nil, []string{foreign.String()}), "", []string{"container c0: image " + foreign.String() + ": no signature by a trusted authority (" + foreign.DigestStr()[7:19] + ".sig layer 0: authority release: failed to verify signature"}},
		{"not covered by any entry", Create, podWith(nil, []string{"docker.io/library/nginx:1.27"}), "", nil},
		{"tag where a digest is required", Create, podWith(nil, []string{host + "/pinned/app:v1"}), "",
			[]string{"is not pinned by digest (verifiedImages entry pinned); the tag points to " + pinned.DigestStr()}},
		{"pinned and signed", Create, podWith(nil, []string{pinned.String()}), "", nil},
		{"update keeping an unsigned image is not judged again", Update,
			podWith(nil, []string{unsigned.String()}), podWith(nil, []string{unsigned.String()}), nil},
		{"update adding an unsigned image", Update,
			podWith(nil, []string{signed.String(), unsigned.String()}), podWith(nil, []string{signed.String()}), []string{"container c1"}},
		{"deployment template", Create, deploy("", "", unsigned.String()), "", []string{"container api: image " + unsigned.String() + ": no signature"}},
		{"same image twice is judged once", Create, podWith([]string{unsigned.String()}, []string{unsigned.String()}), "", []string{"container init0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req(t, tc.op, "alice", nil, tc.new, tc.old)
			got := mustCheck(t, p, r)
			check(t, got, tc.want)
			for _, v := range got {
				if v.ID != VerifiedImagesID {
					t.Errorf("violation ID %s, want %s", v.ID, VerifiedImagesID)
				}
			}
		})
	}
}

// TestVerifiedImagesRegistryDown: an image whose registry fails is an
// error (the webhook's failureAction decides), returned beside the
// violations of the images that could be judged.
func TestVerifiedImagesRegistryDown(t *testing.T) {
	up, _ := st.StartRegistry(t)
	down, srv := st.StartRegistry(t)
	key := st.NewKeyPair(t)
	unsigned := st.PushImage(t, up, "app", "v1")
	gone := st.PushImage(t, down, "app", "v1")
	srv.Close()
	p, err := NewVerifiedImages(&config.VerifiedImages{Images: []config.ImageVerification{
		{Name: "all", Images: []string{"*"}, Authorities: []config.SignatureAuthority{{Name: "k", PublicKey: string(key.PublicPEM)}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Check(context.Background(), req(t, Create, "alice", nil, podWith(nil, []string{gone.String(), unsigned.String()}), ""))
	if err == nil || !strings.Contains(err.Error(), "container c0") {
		t.Errorf("error %v, want one naming container c0", err)
	}
	if len(vs) != 1 || !strings.Contains(vs[0].Message, "container c1") {
		t.Errorf("violations %s, want container c1's", messages(vs))
	}
}

func TestNewVerifiedImagesErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := NewVerifiedImages(&config.VerifiedImages{Images: []config.ImageVerification{
		{Name: "a", Images: []string{"*"}, Authorities: []config.SignatureAuthority{
			{Name: "missing", Key: filepath.Join(dir, "nope.pub")},
			{Name: "bad", PublicKey: "not a key"},
			{Name: "root", Keyless: &config.KeylessIdentity{Issuer: "i", Subject: "s"}, TrustedRoot: filepath.Join(dir, "nope.json")},
		}},
	}})
	for _, want := range []string{"images[0].authorities[0] (missing): key:", "authorities[1] (bad): public key", "authorities[2] (root): trustedRoot:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
}
