package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
)

// testKey is a fake EC private key (a PEM block the detectors recognise;
// its bytes are not a usable key).
const testKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIHnt2b0Hs0RQH4KzO8hfP1pWq0Yg8bM+7Vbq3VJxqW2EoAoGCCqGSM49
AwEHoUQDQgAE2Xf4l0g9fP5YFhV9wQyQk0v8kXc6k8Ffz3sQ2lq8b5cQm8aWkq3e
Yl0pQ0v7m6Qf1r2ZgkQY0b0v7QWkq8b5cQ==
-----END EC PRIVATE KEY-----
`

// imageFixture writes a Debian 12 image (two layers: the upper one
// upgrades a package and deletes a file) as a docker-archive, and OSV
// records for it. It returns the archive and the records' folder.
func imageFixture(t *testing.T) (archive, db string) {
	t.Helper()
	dir := t.TempDir()
	f := imagetest.File
	img := imagetest.Image(t,
		imagetest.Layer(t,
			f("etc/os-release", imagetest.OSRelease("debian", "12")),
			f("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "openssl", Version: "3.0.9-1"})),
			f("usr/lib/python3/dist-packages/x.txt", []byte("x")),
			f("root/.ssh/id_ecdsa", []byte(testKey)), // deleted above: not reported
		),
		imagetest.Layer(t,
			f("var/lib/dpkg/status", imagetest.DpkgStatus(
				imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"},
				imagetest.Deb{Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl"},
				imagetest.Deb{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"},
			)),
			imagetest.Whiteout("usr/lib/python3/dist-packages/x.txt"),
			imagetest.Whiteout("root/.ssh/id_ecdsa"),
			f("etc/app/tls.key", []byte(testKey)),
		),
	)
	archive = filepath.Join(dir, "app.tar")
	tag, _ := name.NewTag("registry.example/app:1.0")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	db = filepath.Join(dir, "osv")
	writeFile(t, db, "Debian/DSA-T-1.json", `{"id":"DSA-T-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1111"],"summary":"openssl: a high one",
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`)
	writeFile(t, db, "Debian/DEBIAN-CVE-T-2.json", `{"id":"DEBIAN-CVE-T-2","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-2222"],
"affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`)
	writeFile(t, db, "Debian/DSA-T-3.json", `{"id":"DSA-T-3","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.10-1"}]}]}]}`)
	return archive, db
}

func TestImageScanJSONGolden(t *testing.T) {
	archive, db := imageFixture(t)
	out, stderr, code := run(t, "", "image", "scan", "docker-archive:"+archive, "--db", db, "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (findings at or above low): %s", code, stderr)
	}
	got := strings.ReplaceAll(out, filepath.Dir(archive), "TMP")
	goldenFile(t, "testdata/image-scan.json", got)
	var doc struct {
		Findings []struct {
			ID      string
			Package struct{ Name string }
			Layer   string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 3 {
		t.Errorf("findings %+v", doc.Findings)
	}
}

func TestImageScanGate(t *testing.T) {
	archive, db := imageFixture(t)
	src := "docker-archive:" + archive
	exc := writeFile(t, t.TempDir(), "exceptions.yaml", "exceptions:\n  - rule: KOR-IMG-VULN\n    kind: Vulnerability\n    name: DSA-T-1\n    reason: not reachable\n")
	for _, c := range []struct {
		name string
		args []string
		code int
		n    int // findings in the JSON report
	}{
		{"high finding fails --fail-on high", []string{"--fail-on", "high", "--no-secrets"}, 1, 3},
		{"nothing critical", []string{"--fail-on", "critical"}, 0, 3},
		{"unscored records count as medium", []string{"--fail-on", "medium", "--ignore-unfixed", "--no-secrets"}, 1, 2},
		{"exception removes the high ones (openssl, libssl3)", []string{"--fail-on", "high", "--exceptions", exc, "--no-secrets"}, 0, 1},
		{"the secret is high", []string{"--fail-on", "high", "--exceptions", exc}, 1, 1},
		{"no database: packages only", []string{"--fail-on", "low", "--no-secrets", "--no-db"}, 0, 0},
		{"no database: the secret still fails", []string{"--fail-on", "high", "--no-db"}, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"image", "scan", src, "-o", "json"}
			if c.args[len(c.args)-1] == "--no-db" {
				args = append(args, c.args[:len(c.args)-1]...)
				args = append(args, "--cache-dir", t.TempDir())
			} else {
				args = append(append(args, "--db", db), c.args...)
			}
			out, stderr, code := run(t, "", args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
			var doc struct{ Findings []json.RawMessage }
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Findings) != c.n {
				t.Errorf("%d findings, want %d:\n%s", len(doc.Findings), c.n, out)
			}
		})
	}
}

func TestImageScanFormats(t *testing.T) {
	archive, db := imageFixture(t)
	out, stderr, code := run(t, "", "image", "scan", archive, "--db", db, "-o", "sarif", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"ruleId": "KOR-IMG-VULN"`) || !strings.Contains(out, "var/lib/dpkg/status") {
		t.Errorf("sarif lacks the rule or the path:\n%s", out)
	}
	out, _, _ = run(t, "", "image", "scan", archive, "--db", db, "-o", "junit", "--fail-on", "none")
	if !strings.Contains(out, "DSA-T-1 (CVE-2024-1111): openssl 3.0.11-1~deb12u2 (Debian:12)") {
		t.Errorf("junit lacks the finding:\n%s", out)
	}
	out, _, _ = run(t, "", "image", "scan", archive, "--db", db, "--fail-on", "none", "--color", "never")
	if !strings.Contains(out, "KOR-IMG-VULN") {
		t.Errorf("table lacks the finding:\n%s", out)
	}
}

func TestImageScanErrors(t *testing.T) {
	archive, db := imageFixture(t)
	// A malformed record is an error naming its file; the rest still match.
	writeFile(t, db, "Debian/broken.json", `{"id": "X", "affected": [`)
	out, _, code := run(t, "", "image", "scan", archive, "--db", db, "-o", "json")
	if code != 2 || !strings.Contains(out, "broken.json") || !strings.Contains(out, "DSA-T-1") {
		t.Errorf("exit %d, want 2 with the error and the findings:\n%s", code, out)
	}
	// A truncated archive: an error, exit 2.
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tar")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "", "image", "scan", "docker-archive:"+cut); code != 2 || stderr == "" {
		t.Errorf("truncated archive: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := run(t, "", "image", "scan", archive, "--packages"); code != 2 {
		t.Errorf("--packages without -o json: exit %d", code)
	}
}

// goldenFile compares got with the file (rewritten with go test -update).
func goldenFile(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

// TestDBUpdateThenScan downloads a zip from a real HTTP server started by
// the test into a cache folder, then scans with the cache as the default
// database.
func TestDBUpdateThenScan(t *testing.T) {
	archive, db := imageFixture(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range []string{"DSA-T-1.json", "DEBIAN-CVE-T-2.json"} {
		b, err := os.ReadFile(filepath.Join(db, "Debian", n))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(n)
		w.Write(b)
	}
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Debian/all.zip" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "all.zip", time.Now().Add(-3*time.Hour), bytes.NewReader(buf.Bytes()))
	}))
	t.Cleanup(srv.Close)
	cache := t.TempDir()
	out, stderr, code := run(t, "", "db", "update", "--url", srv.URL, "--cache-dir", cache, "--ecosystem", "Debian")
	if code != 0 || !strings.Contains(out, "Debian") || !strings.Contains(out, "3 h") || !strings.Contains(out, "downloaded") {
		t.Fatalf("db update: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := run(t, "", "db", "update", "--url", srv.URL, "--cache-dir", cache, "--ecosystem", "Nope"); code != 2 || !strings.Contains(stderr, "404") {
		t.Errorf("a failing ecosystem: exit %d, %s", code, stderr)
	}
	out, _, code = run(t, "", "db", "update", "--offline", "--url", "http://127.0.0.1:1", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "Debian") {
		t.Errorf("--offline status: exit %d\n%s", code, out)
	}
	out, stderr, code = run(t, "", "image", "scan", archive, "--cache-dir", cache, "-o", "json", "--fail-on", "none")
	if code != 0 || !strings.Contains(out, "DSA-T-1") || !strings.Contains(stderr, "Debian 3 h") {
		t.Errorf("scan with the cache: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestImageSBOM writes the image's SBOMs and scans them back with --sbom:
// the same findings as scanning the image.
func TestImageSBOM(t *testing.T) {
	archive, db := imageFixture(t)
	direct, _, _ := run(t, "", "image", "scan", archive, "--db", db, "-o", "json", "--fail-on", "none")
	var want struct{ Findings []json.RawMessage }
	if err := json.Unmarshal([]byte(direct), &want); err != nil || len(want.Findings) == 0 {
		t.Fatalf("direct scan: %v\n%s", err, direct)
	}
	for _, format := range []string{"cyclonedx", "spdx"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "sbom.json")
			if _, stderr, code := run(t, "", "image", "scan", archive, "-o", format, "--output-file", file, "--cache-dir", t.TempDir()); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			b, _ := os.ReadFile(file)
			if !strings.Contains(string(b), "pkg:deb/debian/libssl3@3.0.11-1~deb12u2") {
				t.Errorf("no purl for libssl3:\n%s", b)
			}
			out, stderr, code := run(t, "", "image", "scan", "--sbom", file, "--db", db, "-o", "json", "--fail-on", "high")
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			var got struct{ Findings []json.RawMessage }
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Findings) != len(want.Findings) {
				t.Errorf("%d findings from the SBOM, %d from the image:\n%s", len(got.Findings), len(want.Findings), out)
			}
		})
	}
	if _, _, code := run(t, "", "image", "scan", archive, "--sbom", "x.json"); code != 2 {
		t.Errorf("SOURCE and --sbom: exit %d", code)
	}
}
