package image_test

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/inventory"
)

// jar returns a zip archive of the named entries (deflated, or stored
// when store is set).
func jar(t *testing.T, store bool, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	method := zip.Deflate
	if store {
		method = zip.Store
	}
	for name, body := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipBombJAR: a JAR whose nested archive inflates past the archive
// limit is an error naming the layer and path; a good JAR beside it and
// the OS packages are still inventoried.
func TestZipBombJAR(t *testing.T) {
	pom := func(g, a, v string) []byte {
		return []byte("groupId=" + g + "\nartifactId=" + a + "\nversion=" + v + "\n")
	}
	// The nested JAR stores 64 MiB of zeros: it has to be inflated (from
	// about 64 KiB) to be opened, past the 4 MiB limit set below.
	inner := jar(t, true, map[string][]byte{"zeros.bin": make([]byte, 64<<20), "META-INF/maven/org.evil/inner/pom.properties": pom("org.evil", "inner", "1.0")})
	bomb := jar(t, false, map[string][]byte{"lib/inner.jar": inner, "META-INF/maven/org.evil/bomb/pom.properties": pom("org.evil", "bomb", "6.6")})
	good := jar(t, false, map[string][]byte{"META-INF/maven/org.example/good/pom.properties": pom("org.example", "good", "1.2.3")})
	f := imagetest.File
	img := imagetest.Image(t, imagetest.Layer(t,
		f("etc/os-release", imagetest.OSRelease("debian", "12")),
		f("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"})),
		f("app/bomb.jar", bomb),
		f("app/good.jar", good),
	))
	res, err := image.Inventory(context.Background(), img, image.Options{TempDir: t.TempDir(), Inventory: inventory.Options{MaxArchiveBytes: 4 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Packages {
		names = append(names, p.Name+"@"+p.Version)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"openssl@3.0.11-1~deb12u2", "org.example:good@1.2.3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("packages %v: %s missing", names, want)
		}
	}
	if strings.Contains(joined, "inner") {
		t.Errorf("packages %v: the archive past the limit was read", names)
	}
	var bombErr error
	for _, e := range res.Errors {
		if strings.Contains(e.Error(), "app/bomb.jar") {
			bombErr = e
		}
	}
	t.Logf("packages %v; error: %v", names, bombErr)
	if bombErr == nil || !strings.Contains(bombErr.Error(), "layer sha256:") {
		t.Fatalf("errors %v: want one naming the layer and app/bomb.jar", res.Errors)
	}
}
