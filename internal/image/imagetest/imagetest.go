// Package imagetest builds container images for tests: layers from a list
// of files (with whiteouts and opaque directories), images from layers
// (go-containerregistry's mutate), OS package databases (dpkg status, apk
// installed), os-release files and real Go binaries whose build info names
// chosen module versions. Nothing here is a stub: the images are valid OCI
// images that any tool reads.
package imagetest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a layer.
type Entry struct {
	Name     string
	Body     []byte
	Mode     int64 // default 0644 for files, 0755 for dirs
	Type     byte  // tar.TypeReg when zero
	Linkname string
}

// File is a regular file entry.
func File(name string, body []byte) Entry { return Entry{Name: name, Body: body} }

// Exec is an executable file entry.
func Exec(name string, body []byte) Entry { return Entry{Name: name, Body: body, Mode: 0o755} }

// Dir is a directory entry.
func Dir(name string) Entry { return Entry{Name: name, Type: tar.TypeDir, Mode: 0o755} }

// Symlink is a symbolic link entry.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Linkname: target}
}

// Whiteout deletes name (of lower layers).
func Whiteout(name string) Entry {
	dir, base := filepath.Split(name)
	return File(dir+".wh."+base, nil)
}

// Opaque hides the lower contents of dir.
func Opaque(dir string) Entry { return File(strings.TrimSuffix(dir, "/")+"/.wh..wh..opq", nil) }

// Tar returns the tar stream of the entries.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname, Size: int64(len(e.Body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.Body); err != nil {
				panic(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Layer returns a gzip-compressed layer of the entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	b := Tar(entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image stacks layers, lowest first, on an empty linux/amd64 image.
func Image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// OSRelease returns an os-release file.
func OSRelease(id, versionID string) []byte {
	return fmt.Appendf(nil, "PRETTY_NAME=\"%s %s\"\nNAME=%q\nID=%s\nVERSION_ID=\"%s\"\n", id, versionID, id, id, versionID)
}

// Deb is a dpkg status stanza.
type Deb struct {
	Name, Version, Source, Status string // Status default "install ok installed"
}

// DpkgStatus returns a /var/lib/dpkg/status file.
func DpkgStatus(pkgs ...Deb) []byte {
	var b strings.Builder
	for _, p := range pkgs {
		st := p.Status
		if st == "" {
			st = "install ok installed"
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\nPriority: optional\nArchitecture: amd64\nVersion: %s\n", p.Name, st, p.Version)
		if p.Source != "" {
			fmt.Fprintf(&b, "Source: %s\n", p.Source)
		}
		fmt.Fprintf(&b, "Maintainer: Test <test@example.org>\nDescription: test package %s\n\n", p.Name)
	}
	return []byte(b.String())
}

// APK is an apk installed-database record.
type APK struct{ Name, Version, Origin string }

// APKInstalled returns a /lib/apk/db/installed file.
func APKInstalled(pkgs ...APK) []byte {
	var b strings.Builder
	for _, p := range pkgs {
		o := p.Origin
		if o == "" {
			o = p.Name
		}
		fmt.Fprintf(&b, "C:Q1abc=\nP:%s\nV:%s\nA:x86_64\nS:1000\nI:4000\nT:test\nU:https://example.org\nL:MIT\no:%s\nm:Test <t@example.org>\n\n", p.Name, p.Version, o)
	}
	return []byte(b.String())
}

// Module is a dependency written into a Go binary's build info.
type Module struct{ Path, Version string }

// GoBinary returns a real Go executable (built once per call with the
// local toolchain, offline: the program imports nothing) whose build info
// says it was built by goVersion ("go1.20.1", same length as the local
// toolchain's version string or shorter) with the given dependencies.
//
// The build info is the data debug/buildinfo and every scanner read: a
// varint-prefixed version string and module-info string after a magic
// header in the binary's data. The program is linked with a long -X flag
// so that the recorded module info is long; that space is then rewritten
// in place with a module info listing mods, in cmd/go's format.
func GoBinary(t testing.TB, goVersion string, mods ...Module) []byte {
	t.Helper()
	dir := t.TempDir()
	src := "package main\n\nvar pad string\n\nfunc main() { println(\"kordon test binary\", pad) }\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/kordontest\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-X main.pad="+strings.Repeat("p", 3000), "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var mi strings.Builder
	mi.WriteString("path\texample.com/kordontest\nmod\texample.com/kordontest\t(devel)\t\n")
	for _, m := range mods {
		fmt.Fprintf(&mi, "dep\t%s\t%s\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", m.Path, m.Version)
	}
	mi.WriteString("build\tCGO_ENABLED=0\nbuild\tGOARCH=amd64\nbuild\tGOOS=linux\n")
	if err := rewriteBuildInfo(bin, goVersion, mi.String()); err != nil {
		t.Fatal(err)
	}
	return bin
}

var buildInfoMagic = []byte("\xff Go buildinf:")

// rewriteBuildInfo replaces the version and module info of a Go 1.18+
// binary in place. The new strings must fit in the old ones' space.
func rewriteBuildInfo(bin []byte, goVersion, modinfo string) error {
	i := bytes.Index(bin, buildInfoMagic)
	if i < 0 {
		return errors.New("no build info in binary")
	}
	if bin[i+15]&2 == 0 {
		return errors.New("build info is not inline (Go < 1.18)")
	}
	p := i + 32
	vlen, n := binary.Uvarint(bin[p:])
	if uint64(len(goVersion)) > vlen || n != 1 {
		return fmt.Errorf("go version %q longer than %d bytes", goVersion, vlen)
	}
	// Keep the version's byte count: pad the new version is impossible
	// (it is compared as a string), so it must have the old length.
	if uint64(len(goVersion)) != vlen {
		return fmt.Errorf("go version %q must have %d bytes", goVersion, vlen)
	}
	copy(bin[p+n:], goVersion)
	p += n + int(vlen)
	mlen, n := binary.Uvarint(bin[p:])
	old := bin[p+n : p+n+int(mlen)]
	if len(old) < 33 {
		return errors.New("module info too short")
	}
	start, end := append([]byte(nil), old[:16]...), append([]byte(nil), old[len(old)-16:]...)
	body := append(append(append([]byte(nil), start...), modinfo...), end...)
	// Keep the varint's width so that nothing after it moves.
	if len(body) > len(old) || binary.PutUvarint(make([]byte, 10), uint64(len(body))) != n {
		return fmt.Errorf("module info of %d bytes does not fit in %d", len(body), len(old))
	}
	binary.PutUvarint(bin[p:], uint64(len(body)))
	copy(bin[p+n:], body)
	clear(bin[p+n+len(body) : p+n+len(old)])
	return nil
}
