package image_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/mod/semver"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/source"
)

var (
	vulndbOnce sync.Once
	vulndbDir  string
	vulndbErr  error
)

// goVulnDB returns the data/osv folder of the golang.org/x/vulndb module
// (a test dependency in go.mod), from the module cache.
func goVulnDB(t testing.TB) string {
	t.Helper()
	vulndbOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/vulndb").Output()
		if err != nil {
			vulndbErr = err
			return
		}
		vulndbDir = filepath.Join(strings.TrimSpace(string(out)), "data", "osv")
	})
	if vulndbErr != nil {
		t.Fatalf("locate golang.org/x/vulndb: %v", vulndbErr)
	}
	return vulndbDir
}

// goOracle computes, independently of the matcher (golang.org/x/mod's
// semver, a plain reading of the OSV schema), the Go records of the
// vulndb folder that affect module mod at version ver.
func goOracle(t *testing.T, dir, mod, ver string) []string {
	t.Helper()
	if !strings.HasPrefix(ver, "v") {
		ver = "v" + strings.TrimPrefix(ver, "go")
	}
	var ids []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), `"`+mod+`"`) {
			return nil
		}
		var r struct {
			ID        string
			Withdrawn string
			Affected  []struct {
				Package struct{ Name string }
				Ranges  []struct {
					Type   string
					Events []map[string]string
				}
			}
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if r.Withdrawn != "" {
			return nil
		}
		for _, a := range r.Affected {
			if a.Package.Name != mod {
				continue
			}
			for _, rg := range a.Ranges {
				in := false
				for _, e := range rg.Events { // vulndb writes events in order
					if v, ok := e["introduced"]; ok && (v == "0" || semver.Compare(ver, "v"+v) >= 0) {
						in = true
					}
					if v, ok := e["fixed"]; ok && semver.Compare(ver, "v"+v) >= 0 {
						in = false
					}
				}
				if in && !slices.Contains(ids, r.ID) {
					ids = append(ids, r.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func writeRecord(t *testing.T, dir string, rec map[string]any) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "os", strings.ToLower(rec["id"].(string)[:3]))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, rec["id"].(string)+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rng(events ...map[string]string) []map[string]any {
	return []map[string]any{{"type": "ECOSYSTEM", "events": events}}
}

func affected(eco, name string, r []map[string]any, versions ...string) []map[string]any {
	a := map[string]any{"package": map[string]string{"ecosystem": eco, "name": name}, "ranges": r}
	if len(versions) > 0 {
		a["versions"] = versions
	}
	return []map[string]any{a}
}

type key struct{ id, pkg, path string }

// debianImage builds a Debian 12 image whose layers install, upgrade,
// overwrite and delete packages and Go binaries, plus the OS records
// that concern it. It returns the image and the findings expected from
// the OS records (the Go ones come from the oracle).
func debianImage(t *testing.T, db string) (v1.Image, map[key]bool) {
	f := imagetest.File
	appOld := imagetest.GoBinary(t, "go1.20.1", imagetest.Module{Path: "golang.org/x/crypto", Version: "v0.0.0-20200622213623-75b288015ac9"})
	app := imagetest.GoBinary(t, "go1.20.1", imagetest.Module{Path: "golang.org/x/net", Version: "v0.7.0"}, imagetest.Module{Path: "golang.org/x/text", Version: "v0.3.7"})
	gin := imagetest.GoBinary(t, "go1.26.0", imagetest.Module{Path: "github.com/gin-gonic/gin", Version: "v1.6.0"})
	base := imagetest.Layer(t,
		f("usr/lib/os-release", imagetest.OSRelease("debian", "12")),
		imagetest.Symlink("etc/os-release", "../usr/lib/os-release"),
		f("var/lib/dpkg/status", imagetest.DpkgStatus(
			imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u1"},
			imagetest.Deb{Name: "bash", Version: "5.2.15-2+b2"},
		)),
		imagetest.Exec("usr/local/bin/app", appOld),
		imagetest.Exec("usr/bin/gin-app", gin),
		f("opt/tools/marker", []byte("x")),
	)
	upper := imagetest.Layer(t,
		f("var/lib/dpkg/status", imagetest.DpkgStatus(
			imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"},
			imagetest.Deb{Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl"},
			imagetest.Deb{Name: "zlib1g", Version: "1:1.2.11.dfsg-2", Source: "zlib"},
			imagetest.Deb{Name: "bash", Version: "5.2.15-2+b2"},
			imagetest.Deb{Name: "oldpkg", Version: "1.0-1", Status: "deinstall ok config-files"},
		)),
		imagetest.Exec("usr/local/bin/app", app), // overwrites the old binary
		imagetest.Whiteout("usr/bin/gin-app"),    // deletes the gin binary
		imagetest.Opaque("opt/tools"),
	)
	deb := func(id, pkg string, r []map[string]any, extra map[string]any, versions ...string) {
		rec := map[string]any{"id": id, "modified": "2024-01-01T00:00:00Z", "affected": affected("Debian:12", pkg, r, versions...)}
		maps.Copy(rec, extra)
		writeRecord(t, db, rec)
	}
	intro0 := map[string]string{"introduced": "0"}
	deb("DEBIAN-T-0001", "openssl", rng(intro0, map[string]string{"fixed": "3.0.13-1~deb12u1"}),
		map[string]any{"aliases": []string{"CVE-2024-0001"}, "severity": []map[string]string{{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}}})
	deb("DEBIAN-T-0002", "openssl", rng(intro0, map[string]string{"fixed": "3.0.11-1~deb12u2"}), nil)                                                        // fixed at the installed version
	deb("DEBIAN-T-0003", "zlib", rng(intro0, map[string]string{"fixed": "1:1.2.13.dfsg-1"}), nil)                                                            // epoch: 1:1.2.11 < 1:1.2.13
	deb("DEBIAN-T-0004", "zlib", rng(intro0, map[string]string{"fixed": "1.2.12"}), nil)                                                                     // epoch: 1:1.2.11 > 0:1.2.12
	deb("DEBIAN-T-0005", "bash", rng(intro0, map[string]string{"last_affected": "5.2.15-2"}), nil)                                                           // 5.2.15-2+b2 is later
	deb("DEBIAN-T-0006", "bash", nil, nil, "5.2.15-2+b2")                                                                                                    // versions list
	deb("DEBIAN-T-0007", "bash", rng(intro0), map[string]any{"withdrawn": "2024-02-01T00:00:00Z"})                                                           // withdrawn
	deb("DEBIAN-T-0008", "oldpkg", rng(intro0), nil)                                                                                                         // not installed
	deb("DEBIAN-T-0009", "bash", rng(intro0, map[string]string{"limit": "5.0"}), nil)                                                                        // beyond the limit
	writeRecord(t, db, map[string]any{"id": "DEBIAN-T-0010", "modified": "2024-01-01T00:00:00Z", "affected": affected("Debian:11", "openssl", rng(intro0))}) // other release
	status := "var/lib/dpkg/status"
	want := map[key]bool{
		{"DEBIAN-T-0001", "openssl", status}: true,
		{"DEBIAN-T-0001", "libssl3", status}: true,
		{"DEBIAN-T-0003", "zlib1g", status}:  true,
		{"DEBIAN-T-0006", "bash", status}:    true,
	}
	return imagetest.Image(t, base, upper), want
}

func TestMain(m *testing.M) {
	inventory.QuietLibraryLogs()
	os.Exit(m.Run())
}

func TestRecallPrecision(t *testing.T) {
	dbDir := t.TempDir()
	img, want := debianImage(t, dbDir)
	vdb := goVulnDB(t)
	db, err := osv.Load(dbDir, vdb)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Errors) > 0 {
		t.Fatalf("load: %v", db.Errors[:min(3, len(db.Errors))])
	}
	app := "usr/local/bin/app"
	for _, m := range [][2]string{{"golang.org/x/net", "v0.7.0"}, {"golang.org/x/text", "v0.3.7"}, {"stdlib", "go1.20.1"}} {
		ids := goOracle(t, vdb, m[0], m[1])
		if len(ids) == 0 {
			t.Fatalf("the oracle finds no record for %s %s: the test would prove nothing", m[0], m[1])
		}
		for _, id := range ids {
			want[key{id, m[0], app}] = true
		}
	}
	res, err := image.Scan(context.Background(), img, image.Options{DB: db, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("scan error: %v", e)
	}
	got := map[key]bool{}
	for _, v := range res.Vulns {
		got[key{v.ID, v.Package.Name, v.Package.Path}] = true
		if v.Package.Layer != res.Layers[1] {
			t.Errorf("%s %s: layer %s; want the upper layer %s", v.ID, v.Package.Name, v.Package.Layer, res.Layers[1])
		}
	}
	tp := 0
	for k := range got {
		if want[k] {
			tp++
		} else {
			t.Errorf("false positive: %v", k)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missed: %v", k)
		}
	}
	t.Logf("%d expected, %d found, recall %.2f, precision %.2f", len(want), len(got), float64(tp)/float64(len(want)), float64(tp)/float64(max(1, len(got))))
	for _, p := range res.Packages {
		if p.Name == "github.com/gin-gonic/gin" || p.Name == "golang.org/x/crypto" || p.Name == "oldpkg" {
			t.Errorf("package %s of a deleted, overwritten or removed file reported: %+v", p.Name, p)
		}
	}
	for _, v := range res.Vulns {
		if v.ID == "DEBIAN-T-0001" && (v.Severity != "high" || v.Score != 7.5 || v.FixedVersion != "3.0.13-1~deb12u1" || !slices.Equal(v.Aliases, []string{"CVE-2024-0001"})) {
			t.Errorf("DEBIAN-T-0001: %+v", v)
		}
	}
}

func TestAlpine(t *testing.T) {
	dbDir := t.TempDir()
	f := imagetest.File
	img := imagetest.Image(t, imagetest.Layer(t,
		f("etc/os-release", imagetest.OSRelease("alpine", "3.20.3")),
		f("lib/apk/db/installed", imagetest.APKInstalled(
			imagetest.APK{Name: "libcrypto3", Version: "3.3.1-r0", Origin: "openssl"},
			imagetest.APK{Name: "busybox", Version: "1.36.1-r28"},
		)),
	))
	intro0 := map[string]string{"introduced": "0"}
	for _, r := range []struct{ id, pkg, fixed string }{
		{"ALPINE-T-1", "openssl", "3.3.2-r0"},
		{"ALPINE-T-2", "busybox", "1.36.1-r29"},
		{"ALPINE-T-3", "busybox", "1.36.1-r5"},   // r28 > r5
		{"ALPINE-T-4", "libcrypto3", "9.9.9-r0"}, // advisories name the origin, not the binary package
	} {
		writeRecord(t, dbDir, map[string]any{"id": r.id, "modified": "2024-01-01T00:00:00Z",
			"affected": affected("Alpine:v3.20", r.pkg, rng(intro0, map[string]string{"fixed": r.fixed}))})
	}
	db, err := osv.Load(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := image.Scan(context.Background(), img, image.Options{DB: db, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range res.Vulns {
		got = append(got, v.ID+" "+v.Package.Name+" "+v.Package.Ecosystem)
	}
	want := []string{"ALPINE-T-2 busybox Alpine:v3.20", "ALPINE-T-1 libcrypto3 Alpine:v3.20"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q (errors %v)", got, want, res.Errors)
	}
}

// TestSources scans the same image from a registry, a docker-archive, an
// OCI layout and an oci-archive, and expects the same packages.
func TestSources(t *testing.T) {
	img := imagetest.Image(t, imagetest.Layer(t,
		imagetest.File("etc/os-release", imagetest.OSRelease("debian", "12")),
		imagetest.File("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "bash", Version: "5.2.15-2+b2"})),
	))
	dir := t.TempDir()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/app:1.0"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	tarFile := filepath.Join(dir, "docker.tar")
	if err := tarball.WriteToFile(tarFile, r.(name.Tag), img); err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "layout")
	lp, err := layout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(dir, "oci.tar")
	tarDir(t, lay, ociTar)
	want, _ := img.Digest()
	for _, spec := range []string{ref, "docker-archive:" + tarFile, tarFile, "oci:" + lay, lay, "oci-archive:" + ociTar, ociTar} {
		t.Run(spec, func(t *testing.T) {
			src, err := source.Open(context.Background(), spec, source.Options{Insecure: true, TempDir: t.TempDir(), Keychain: authn.NewMultiKeychain()})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if src.Digest != want && !strings.Contains(spec, "docker") && !strings.HasSuffix(spec, "docker.tar") {
				t.Errorf("digest %s; want %s", src.Digest, want)
			}
			res, err := image.Inventory(context.Background(), src.Image, image.Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Packages) != 1 || res.Packages[0].Name != "bash" || res.Packages[0].Ecosystem != "Debian:12" {
				t.Errorf("packages %+v, errors %v", res.Packages, res.Errors)
			}
		})
	}
}

func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Size: info.Size(), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
