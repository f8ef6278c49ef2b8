package image_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/source"
)

// debianLike returns a Debian-like image of about mb megabytes: a base
// layer with a dpkg database of 400 packages and many incompressible
// library files, an upper layer replacing some and deleting others, and a
// Go binary.
func debianLike(b *testing.B, mb int) v1.Image {
	rnd := rand.New(rand.NewPCG(1, 2))
	f := imagetest.File
	var debs []imagetest.Deb
	for i := range 400 {
		debs = append(debs, imagetest.Deb{Name: fmt.Sprintf("lib%03d", i), Version: fmt.Sprintf("1:%d.%d-%d+deb12u1", i%7, i%13, i%5), Source: fmt.Sprintf("src%03d", i/3)})
	}
	base := []imagetest.Entry{f("etc/os-release", imagetest.OSRelease("debian", "12")), f("var/lib/dpkg/status", imagetest.DpkgStatus(debs...))}
	var upper []imagetest.Entry
	total := 0
	for i := 0; total < mb<<20; i++ {
		body := make([]byte, 4<<10+rnd.IntN(60<<10))
		for j := range body {
			body[j] = byte(rnd.Uint32())
		}
		total += len(body)
		p := fmt.Sprintf("usr/lib/x86_64-linux-gnu/pkg%03d/file%05d.so", i%400, i)
		base = append(base, f(p, body))
		if i%50 == 0 {
			upper = append(upper, imagetest.Whiteout(p))
		}
	}
	upper = append(upper, imagetest.Exec("usr/local/bin/app", imagetest.GoBinary(b, "go1.20.1", imagetest.Module{Path: "golang.org/x/net", Version: "v0.7.0"})))
	return imagetest.Image(b, imagetest.Layer(b, base...), imagetest.Layer(b, upper...))
}

// BenchmarkScanImage100MB scans a ~100 MB Debian-like docker-archive from
// disk (flatten, extract, inventory). Reproduce with:
//
//	go test ./internal/image -run '^$' -bench ScanImage100MB -benchmem
func BenchmarkScanImage100MB(b *testing.B) {
	inventory.QuietLibraryLogs()
	img := debianLike(b, 100)
	archive := filepath.Join(b.TempDir(), "debian.tar")
	tag, _ := name.NewTag("bench/debian:12")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		b.Fatal(err)
	}
	if keep := os.Getenv("KORDON_BENCH_ARCHIVE"); keep != "" {
		// Keep the archive to measure the kordon binary on it (RSS).
		if err := tarball.WriteToFile(keep, tag, img); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(archive)
	b.ReportMetric(float64(st.Size())/(1<<20), "MB-archive")
	b.ResetTimer()
	for b.Loop() {
		src, err := source.Open(context.Background(), archive, source.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := image.Inventory(context.Background(), src.Image, image.Options{TempDir: b.TempDir()})
		src.Close()
		if err != nil || len(res.Packages) < 400 || len(res.Errors) > 0 {
			b.Fatalf("%d packages, %v, %v", len(res.Packages), err, res.Errors)
		}
	}
}

// BenchmarkMatchGoVulnDB matches 2,000 Go packages (every module the Go
// vulnerability database names, at an old version, plus stdlib) against
// the whole database. Reproduce with:
//
//	go test ./internal/image -run '^$' -bench MatchGoVulnDB -benchmem
func BenchmarkMatchGoVulnDB(b *testing.B) {
	db, err := osv.Load(goVulnDB(b))
	if err != nil {
		b.Fatal(err)
	}
	names := db.Names("Go")
	var pkgs []inventory.Package
	for i := 0; len(pkgs) < 2000; i++ {
		n := names[i%len(names)]
		v := fmt.Sprintf("v0.%d.%d", i%5, i%3)
		if n == "stdlib" || n == "toolchain" {
			v = fmt.Sprintf("go1.%d.%d", 16+i%8, i%4)
		}
		pkgs = append(pkgs, inventory.Package{Name: n, Version: v, Ecosystem: "Go", Path: "usr/local/bin/app", Type: "golang"})
	}
	b.ReportMetric(float64(db.Records()), "records")
	var found int
	b.ResetTimer()
	for b.Loop() {
		vulns, _ := match.Match(db, pkgs)
		found = len(vulns)
	}
	b.ReportMetric(float64(found), "vulns")
}
