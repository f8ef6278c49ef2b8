package secrets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/inventory"
)

func TestMain(m *testing.M) {
	inventory.QuietLibraryLogs()
	os.Exit(m.Run())
}

func pemKey(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// TestSecretsOnFinalFilesystem puts real private keys in an image: one
// stays, one is deleted by a whiteout, one is overwritten by a clean
// file, one lives in library test data. Only the first is reported, with
// its layer and line, and never its value.
func TestSecretsOnFinalFilesystem(t *testing.T) {
	f := imagetest.File
	kept, deleted, replaced := pemKey(t), pemKey(t), pemKey(t)
	img := imagetest.Image(t,
		imagetest.Layer(t,
			f("root/.ssh/id_ecdsa", deleted),
			f("app/config.env", append([]byte("DEBUG=1\n# key\n"), replaced...)),
			f("usr/lib/python3/dist-packages/x/tests/key.pem", pemKey(t)),
		),
		imagetest.Layer(t,
			imagetest.Whiteout("root/.ssh/id_ecdsa"),
			f("app/config.env", []byte("DEBUG=0\n")),
			f("srv/tls/server.key", append([]byte("\n\n"), kept...)),
		),
	)
	res, err := image.Inventory(context.Background(), img, image.Options{TempDir: t.TempDir(), Secrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Secrets) != 1 {
		t.Fatalf("secrets %+v", res.Secrets)
	}
	s := res.Secrets[0]
	if s.Path != "srv/tls/server.key" || s.Line != 3 || s.Layer != res.Layers[1] || !strings.HasPrefix(s.Kind, "privatekey.") || len(s.Fingerprint) != 16 {
		t.Errorf("secret %+v", s)
	}
	if slices.ContainsFunc([]string{s.Kind, s.Fingerprint, s.Path}, func(x string) bool { return strings.Contains(string(kept), x) && len(x) > 8 }) {
		t.Errorf("the secret's value leaks: %+v", s)
	}
}
