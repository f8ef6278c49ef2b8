package main

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
)

// TestImageScanRecord: kordon image scan REFERENCE --record DIR records
// the findings under the image's digest for the admission webhook, and
// --record is refused where it has no image to record or no database.
func TestImageScanRecord(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	img := imagetest.Image(t, imagetest.Layer(t,
		imagetest.File("etc/os-release", imagetest.OSRelease("debian", "12")),
		imagetest.File("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"})),
	))
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/web:1.0"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	_, db := imageFixture(t)
	dir := t.TempDir()
	if _, stderr, code := run(t, "", "image", "scan", ref, "--insecure-registry", "--db", db, "--record", dir, "--fail-on", "none", "-o", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rec, err := vulnindex.NewReader(dir, 0).Get(digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ref != ref || len(rec.Findings) != 1 || rec.Findings[0].ID != "DSA-T-1" || !rec.Complete() {
		t.Errorf("record %+v", rec)
	}
	for _, args := range [][]string{
		{"image", "scan", ref, "--insecure-registry", "--record", dir, "--cache-dir", t.TempDir()},
		{"image", "scan", "--sbom", "x.json", "--db", db, "--record", dir},
		{"image", "scan", ref, "--db", db, "--record", dir, "-o", "spdx"},
	} {
		if _, stderr, code := run(t, "", args...); code != 2 || !strings.Contains(stderr, "--record") {
			t.Errorf("%v: exit %d, %s; want a usage error about --record", args, code, stderr)
		}
	}
}
