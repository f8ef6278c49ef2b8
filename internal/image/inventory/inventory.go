// Package inventory lists the software installed in a flattened image
// filesystem (see package layers) with osv-scalibr's extractors: OS
// packages (dpkg, apk, rpm) and language packages (Go binaries, Java
// archives, Python, Node, Ruby, Rust, .NET). Each package carries the
// file it was found in, the layer that file came from, its OSV ecosystem
// (the OS release for OS packages: "Debian:12", "Alpine:v3.20") and its
// purl. Extractors are values made per call; nothing is shared.
package inventory

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/binary/proto/config_go_proto"
	scalibrextractor "github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/depsjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	javaarchive "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemspec"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"

	"github.com/kordon-dev/kordon/internal/image/layers"
)

// Package is one installed package.
type Package struct {
	// Name is the package name: the binary package for OS packages, the
	// module path for Go modules ("stdlib" for the Go toolchain).
	Name    string `json:"name"`
	Version string `json:"version"`
	// Ecosystem is the OSV ecosystem, with the release for OS packages.
	Ecosystem string `json:"ecosystem"`
	// SourceName and SourceVersion are what OS advisories name: dpkg's
	// Source field, apk's origin, the RPM source package. Empty otherwise.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	PURL          string `json:"purl,omitempty"`
	// Type is the kind of package: deb, apk, rpm, golang, maven, pypi, npm...
	Type string `json:"type"`
	// Path is the file the package was found in, relative to the root.
	Path string `json:"path"`
	// Layer is the diff ID of the layer Path came from.
	Layer string `json:"layer"`
}

// MatchName is the name advisories use for the package.
func (p *Package) MatchName() string {
	if p.SourceName != "" {
		return p.SourceName
	}
	return p.Name
}

// MatchVersion is the version advisories compare with.
func (p *Package) MatchVersion() string {
	if p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Options tune the extraction.
type Options struct {
	// MaxArchiveBytes bounds the bytes read from one Java archive,
	// nested archives included (zip bombs); default 256 MiB.
	MaxArchiveBytes int64
}

// Extractors returns new instances of the extractors the inventory runs.
func Extractors(opts Options) ([]filesystem.Extractor, error) {
	if opts.MaxArchiveBytes <= 0 {
		opts.MaxArchiveBytes = 256 << 20
	}
	cfg := &config_go_proto.PluginConfig{PluginSpecific: []*config_go_proto.PluginSpecificConfig{{
		Config: &config_go_proto.PluginSpecificConfig_JavaArchive{JavaArchive: &config_go_proto.JavaArchiveConfig{
			MaxOpenedBytes: opts.MaxArchiveBytes, MaxZipDepth: 4,
		}},
	}}}
	news := []func(*config_go_proto.PluginConfig) (filesystem.Extractor, error){
		dpkg.New, apk.New, rpm.New, gobinary.New, javaarchive.New, wheelegg.New,
		packagejson.New, gemspec.New, cargoauditable.New, depsjson.New,
	}
	out := make([]filesystem.Extractor, 0, len(news))
	for _, n := range news {
		e, err := n(cfg)
		if err != nil {
			return nil, fmt.Errorf("extractor: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// osReleasePaths are read for the OS ecosystem.
var osReleasePaths = []string{"etc/os-release", "usr/lib/os-release"}

// Want returns the layers.Want that keeps the files the extractors need.
func Want(exts []filesystem.Extractor) layers.Want {
	return func(p string, info fs.FileInfo) bool {
		for _, r := range osReleasePaths {
			if p == r {
				return true
			}
		}
		api := fileAPI{p: p, info: info}
		for _, e := range exts {
			// osv-scalibr's Go and Rust binary extractors ask for every
			// shared library too; the binaries they read are executable,
			// so a library without an executable bit (Debian's are 0644)
			// is not read.
			if (e.Name() == gobinary.Name || e.Name() == cargoauditable.Name) && info.Mode()&0o111 == 0 {
				continue
			}
			if e.FileRequired(api) {
				return true
			}
		}
		return false
	}
}

type fileAPI struct {
	p    string
	info fs.FileInfo
}

func (f fileAPI) Path() string               { return f.p }
func (f fileAPI) Stat() (fs.FileInfo, error) { return f.info, nil }

// Result is the inventory of a tree.
type Result struct {
	// OS is the distribution from os-release ("debian 12"), empty when
	// there is none.
	OSID, OSVersion string
	Packages        []Package
	// Errors are problems of single files; the rest was still read.
	Errors []error
}

// Extract runs the extractors over a flattened tree.
func Extract(ctx context.Context, tree *layers.Tree, exts []filesystem.Extractor) (*Result, error) {
	res := &Result{}
	for _, p := range osReleasePaths {
		if err := tree.Materialize(p); err != nil && !isNotExist(err) {
			res.Errors = append(res.Errors, fmt.Errorf("%s: %w", p, err))
		}
	}
	osr := readOSRelease(tree.Dir)
	res.OSID, res.OSVersion = osr["ID"], osr["VERSION_ID"]
	inv, status, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors: exts,
		ScanRoots:  []*scalibrfs.ScanRoot{scalibrfs.RealFSScanRoot(tree.Dir)},
		Stats:      stats.NoopCollector{},
	})
	if err != nil {
		return nil, fmt.Errorf("extract packages: %w", err)
	}
	for _, s := range status {
		if s.Status != nil && s.Status.FileErrors != nil {
			for _, fe := range s.Status.FileErrors {
				where := fe.FilePath
				if f, ok := tree.Files[fe.FilePath]; ok {
					where = "layer " + f.Layer.String() + ": " + fe.FilePath
				}
				res.Errors = append(res.Errors, fmt.Errorf("%s: %s: %s", where, s.Name, fe.ErrorMessage))
			}
		}
	}
	for _, sp := range inv.Packages {
		p := convert(sp, osr)
		if f, ok := tree.Files[p.Path]; ok {
			p.Layer = f.Layer.String()
		}
		res.Packages = append(res.Packages, p)
	}
	sort.Slice(res.Packages, func(i, j int) bool {
		a, b := res.Packages[i], res.Packages[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return res, nil
}

func isNotExist(err error) bool { return errorsIs(err, fs.ErrNotExist) }

func convert(sp *scalibrextractor.Package, osr map[string]string) Package {
	p := Package{Name: sp.Name, Version: sp.Version, Type: sp.PURLType, Path: sp.Location.PathOrEmpty()}
	if u := sp.PURL(); u != nil {
		p.PURL = u.String()
	}
	p.Ecosystem = sp.Ecosystem().String()
	switch m := sp.Metadata.(type) {
	case *dpkgmeta.Metadata:
		p.SourceName, p.SourceVersion = m.SourceName, m.SourceVersion
		p.Ecosystem = osEcosystem(osr)
	case *apkmeta.Metadata:
		p.SourceName = m.OriginName
		p.Ecosystem = osEcosystem(osr)
	case *rpmmeta.Metadata:
		if m.SourceRPM != "" {
			p.SourceName = rpmSourceName(m.SourceRPM)
		}
		p.Ecosystem = osEcosystem(osr)
	}
	if p.Type == "golang" {
		// As the Go vulnerability database and the build info name them:
		// the toolchain is "stdlib" at "go1.X.Y", modules keep their "v".
		if p.Name == "go" {
			p.Name, p.Version = "stdlib", "go"+strings.TrimPrefix(p.Version, "go")
		} else if p.Version != "" && p.Version != "(devel)" && !strings.HasPrefix(p.Version, "v") {
			p.Version = "v" + p.Version
		}
		p.Ecosystem = "Go"
	}
	return p
}

// rpmSourceName takes the name out of "openssl-3.0.7-27.el9.src.rpm".
func rpmSourceName(srpm string) string {
	s := strings.TrimSuffix(srpm, ".src.rpm")
	for range 2 { // drop release and version
		if i := strings.LastIndexByte(s, '-'); i > 0 {
			s = s[:i]
		}
	}
	return s
}

// osEcosystem names the OSV ecosystem of an OS release, as osv.dev does:
// "Debian:12", "Alpine:v3.20", "Ubuntu:22.04", "AlmaLinux:9",
// "Rocky Linux:9". Unknown distributions give their ID alone.
func osEcosystem(osr map[string]string) string {
	id, ver := osr["ID"], osr["VERSION_ID"]
	major, rest, _ := strings.Cut(ver, ".")
	switch id {
	case "debian":
		if ver == "" {
			return "Debian"
		}
		return "Debian:" + major
	case "alpine":
		minor, _, _ := strings.Cut(rest, ".")
		if ver == "" || minor == "" {
			return "Alpine"
		}
		return "Alpine:v" + major + "." + minor
	case "ubuntu":
		return "Ubuntu:" + ver
	case "almalinux":
		return "AlmaLinux:" + major
	case "rocky":
		return "Rocky Linux:" + major
	case "rhel":
		return "Red Hat"
	case "":
		return ""
	}
	return id
}

// readOSRelease reads the KEY=value pairs of etc/os-release (falling
// back to usr/lib/os-release), unquoting values.
func readOSRelease(dir string) map[string]string {
	out := map[string]string{}
	for _, p := range osReleasePaths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
			if !ok || strings.HasPrefix(k, "#") {
				continue
			}
			out[k] = strings.Trim(v, `"'`)
		}
		return out
	}
	return out
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
