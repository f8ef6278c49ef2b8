package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/osv"
	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
	"github.com/kordon-dev/kordon/internal/image/source"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// vulnDB writes OSV records for Debian 12 packages: openssl (critical,
// fixed), zlib (high, no fix), curl (high, fixed; alias CVE-2026-0003) and
// bash (medium, fixed).
func vulnDB(t *testing.T) *osv.DB {
	t.Helper()
	dir := t.TempDir()
	rec := func(id, alias, pkg, cvss, fixed string) {
		events := `{"introduced":"0"}`
		if fixed != "" {
			events += `,{"fixed":"` + fixed + `"}`
		}
		body := fmt.Sprintf(`{"id":%q,"modified":"2026-01-01T00:00:00Z","aliases":[%q],"severity":[{"type":"CVSS_V3","score":%q}],
"affected":[{"package":{"ecosystem":"Debian:12","name":%q},"ranges":[{"type":"ECOSYSTEM","events":[%s]}]}]}`, id, alias, cvss, pkg, events)
		if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rec("DSA-9001-1", "CVE-2026-0001", "openssl", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0.13-1~deb12u1")
	rec("DEBIAN-CVE-2026-0002", "CVE-2026-0002", "zlib", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "")
	rec("DSA-9003-1", "CVE-2026-0003", "curl", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "8.0.0-1")
	rec("DSA-9004-1", "CVE-2026-0004", "bash", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N", "5.3-1")
	db, err := osv.Load(dir)
	if err != nil || len(db.Errors) > 0 {
		t.Fatalf("load OSV records: %v %v", err, db.Errors)
	}
	return db
}

// pushDebian pushes a Debian 12 image with the given dpkg packages (name
// and version; source = name) and returns its tag and digest reference.
func pushDebian(t *testing.T, host, repo string, pkgs ...string) (tag string, digest name.Digest) {
	t.Helper()
	var debs []imagetest.Deb
	for i := 0; i < len(pkgs); i += 2 {
		debs = append(debs, imagetest.Deb{Name: pkgs[i], Version: pkgs[i+1]})
	}
	img := imagetest.Image(t, imagetest.Layer(t,
		imagetest.File("etc/os-release", imagetest.OSRelease("debian", "12")),
		imagetest.File("var/lib/dpkg/status", imagetest.DpkgStatus(debs...)),
	))
	tag = host + "/" + repo + ":1.0"
	ref, err := name.NewTag(tag)
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
	return tag, ref.Context().Digest(d.String())
}

// scanInto scans the image as kordon image scan --cluster does (pull by
// digest, inventory cache, match, record) into cacheDir.
func scanInto(t *testing.T, cacheDir string, db *osv.DB, d name.Digest) {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, d.String(), source.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, _, err := cluster.Scan(ctx, src.Image, cluster.Cache{Dir: cacheDir}, image.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	im := cluster.Image{Ref: d.String(), Digest: d.DigestStr()}
	if err := vulnindex.Put(cacheDir, cluster.Record(im, res, "test", time.Now())); err != nil {
		t.Fatal(err)
	}
}

// TestVulnerableImagesEndToEnd registers the webhook with a real API
// server and checks pods against images in a registry inside the test,
// scanned into the cache the webhook reads the way kordon image scan
// --cluster scans them: a vulnerable image is denied (by tag, resolved
// through the registry, and by digest), a clean one admitted, an image
// never scanned admitted with a warning that it was not judged, and
// ignoreUnfixed, the severity threshold and exceptions (by alias) are
// honoured.
func TestVulnerableImagesEndToEnd(t *testing.T) {
	host, _ := st.StartRegistry(t)
	db := vulnDB(t)
	cacheDir := t.TempDir()
	vulnTag, vuln := pushDebian(t, host, "shop/web", "openssl", "3.0.11-1~deb12u2", "bash", "5.2-1")
	_, clean := pushDebian(t, host, "shop/api", "openssl", "3.0.13-1~deb12u1")
	_, unfixed := pushDebian(t, host, "shop/zip", "zlib", "1:1.2.13.dfsg-1")
	_, excepted := pushDebian(t, host, "shop/fetch", "curl", "7.88.1-10")
	_, medium := pushDebian(t, host, "shop/shell", "bash", "5.2-1")
	uncachedTag, _ := pushDebian(t, host, "shop/new", "openssl", "3.0.11-1~deb12u2")
	for _, d := range []name.Digest{vuln, clean, unfixed, excepted, medium} {
		scanInto(t, cacheDir, db, d)
	}

	cfg := fmt.Sprintf(`
failureAction: deny
governance:
  vulnerableImages:
    namespaceSelector: {matchLabels: {kordon.io/vulns: enforce}}
    action: enforce
    cacheDir: %s
    severity: high
    ignoreUnfixed: true
    exceptions:
      - id: CVE-2026-0003
        images: [%q]
        reason: curl is only used at build time
`, cacheDir, host+"/shop/fetch")
	env := testenv.Start(t)
	h := startWebhook(t, env, cfg)
	alice, warned := h.as("alice", "developers")
	ns := h.namespace("e2e-vulns", map[string]string{"kordon.io/vulns": "enforce"})

	testenv.Eventually(t, "webhook in the admission chain", func() error {
		err := createPod(alice, ns, pod(testenv.UniqueName("probe"), nil, vuln.String()))
		if err == nil || !strings.Contains(err.Error(), "kordon denied") {
			return fmt.Errorf("vulnerable image: got %v, want a kordon denial", err)
		}
		return nil
	})
	err := createPod(alice, ns, pod("web", nil, vulnTag))
	wantDenied(t, "vulnerable image by tag", err, "KOR-GOV-007")
	if err != nil {
		for _, want := range []string{"DSA-9001-1 (CVE-2026-0001) in openssl 3.0.11-1~deb12u2, critical, fixed in 3.0.13-1~deb12u1", vuln.DigestStr(), "at or above high"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("denial does not say %q:\n%v", want, err)
			}
		}
		if strings.Contains(err.Error(), "DSA-9004-1") {
			t.Errorf("denial names the medium vulnerability below the threshold:\n%v", err)
		}
	}
	before := len(warned.all())
	wantAdmitted(t, "clean image", createPod(alice, ns, pod("api", nil, clean.String())))
	wantAdmitted(t, "image with an unfixed vulnerability only (ignoreUnfixed)", createPod(alice, ns, pod("zip", nil, unfixed.String())))
	wantAdmitted(t, "image whose vulnerability has an exception by alias", createPod(alice, ns, pod("fetch", nil, excepted.String())))
	wantAdmitted(t, "image with a vulnerability below the severity", createPod(alice, ns, pod("shell", nil, medium.String())))
	if got := warned.all()[before:]; len(got) != 0 {
		t.Errorf("warnings for judged images: %q, want none", got)
	}
	wantAdmitted(t, "image never scanned", createPod(alice, ns, pod("new", nil, uncachedTag)))
	got := warned.all()[before:]
	if !containsAll(got, "kordon KOR-GOV-008:") || !strings.Contains(strings.Join(got, "\n"), "was not judged for vulnerabilities") {
		t.Errorf("image never scanned: warnings %q, want KOR-GOV-008 saying it was not judged", got)
	}
	// The same exception does not cover another repository.
	_, otherDigest := pushDebian(t, host, "other/fetch", "curl", "7.88.1-10")
	scanInto(t, cacheDir, db, otherDigest)
	wantDenied(t, "excepted vulnerability in an image the exception does not cover", createPod(alice, ns, pod("fetch2", nil, otherDigest.String())), "KOR-GOV-007")
	wantAdmitted(t, "outside the policy's namespaces", createPod(alice, h.namespace("e2e-vulns-none", nil), pod("web", nil, vuln.String())))
}
