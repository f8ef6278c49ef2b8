// Package source opens the image a user names on the command line: a
// registry reference (pulled with the user's docker credentials),
// docker-archive:FILE, oci-archive:FILE, oci:DIR, or a bare path to a tar
// file or an OCI layout folder. It returns a go-containerregistry v1.Image
// whose layers are read lazily, so that nothing is held in memory beyond
// the manifest and the config.
package source

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Kind says how a source was given.
type Kind string

// The source kinds.
const (
	KindRegistry      Kind = "registry"
	KindDockerArchive Kind = "docker-archive"
	KindOCIArchive    Kind = "oci-archive"
	KindOCILayout     Kind = "oci"
)

// Options tune how a source is opened.
type Options struct {
	// Insecure allows plain HTTP (and unverified TLS) for the reference's
	// registry.
	Insecure bool
	// Platform selects an image of a multi-platform index; default
	// linux/GOARCH.
	Platform *v1.Platform
	// TempDir is where an oci-archive is unpacked; default os.TempDir().
	TempDir string
	// MaxArchiveBytes bounds the bytes unpacked from an oci-archive
	// (default 16 GiB).
	MaxArchiveBytes int64
	// Keychain resolves registry credentials; default authn.DefaultKeychain
	// (the user's docker config and credential helpers).
	Keychain authn.Keychain
}

// Image is an opened source. Close removes any temporary files.
type Image struct {
	v1.Image
	// Kind is how the source was given; Name is the reference or path.
	Kind Kind
	Name string
	// Digest is the image manifest's digest.
	Digest v1.Hash
	// RefDigest is the digest the registry gives for the reference: the
	// manifest's, or a multi-platform index's. Zero for archives and
	// layouts.
	RefDigest v1.Hash

	cleanup func()
}

// Close removes the temporary files of the source, if any.
func (i *Image) Close() error {
	if i.cleanup != nil {
		i.cleanup()
		i.cleanup = nil
	}
	return nil
}

// Open opens the source spec (see the package comment). A spec that names
// an existing path is read from disk; anything else is a registry
// reference. The network is used only for registry references.
func Open(ctx context.Context, spec string, opts Options) (*Image, error) {
	if opts.Platform == nil {
		opts.Platform = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	if opts.MaxArchiveBytes <= 0 {
		opts.MaxArchiveBytes = 16 << 30
	}
	kind, p, ok := strings.Cut(spec, ":")
	var img *Image
	var err error
	switch {
	case ok && kind == string(KindDockerArchive):
		img, err = openDockerArchive(p)
	case ok && kind == string(KindOCIArchive):
		img, err = openOCIArchive(ctx, p, opts)
	case ok && kind == string(KindOCILayout):
		img, err = openLayout(p, opts)
	default:
		if st, serr := os.Stat(spec); serr == nil {
			img, err = openPath(ctx, spec, st, opts)
		} else {
			img, err = openRemote(ctx, spec, opts)
		}
	}
	if err != nil {
		return nil, err
	}
	d, err := img.Image.Digest()
	if err != nil {
		img.Close()
		return nil, fmt.Errorf("%s: image digest: %w", spec, err)
	}
	img.Digest = d
	return img, nil
}

func openPath(ctx context.Context, p string, st os.FileInfo, opts Options) (*Image, error) {
	if st.IsDir() {
		return openLayout(p, opts)
	}
	kind, err := sniffArchive(p)
	if err != nil {
		return nil, err
	}
	if kind == KindOCIArchive {
		return openOCIArchive(ctx, p, opts)
	}
	return openDockerArchive(p)
}

// sniffArchive tells a docker-archive (manifest.json) from an oci-archive
// (index.json, oci-layout) by the names in the tar's table of contents.
func sniffArchive(p string) (Kind, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s: neither a docker-archive (manifest.json) nor an oci-archive (index.json)", p)
		}
		if err != nil {
			return "", fmt.Errorf("%s: read tar: %w", p, err)
		}
		switch path.Clean(strings.TrimPrefix(h.Name, "./")) {
		case "manifest.json":
			return KindDockerArchive, nil
		case "index.json", "oci-layout":
			return KindOCIArchive, nil
		}
	}
}

func openDockerArchive(p string) (*Image, error) {
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		return nil, fmt.Errorf("docker-archive %s: %w", p, err)
	}
	return &Image{Image: img, Kind: KindDockerArchive, Name: p}, nil
}

func openLayout(dir string, opts Options) (*Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	img, err := imageFromIndex(idx, opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return &Image{Image: img, Kind: KindOCILayout, Name: dir}, nil
}

// imageFromIndex picks the image of the index: the only one, or the one
// for the platform, descending into nested indexes.
func imageFromIndex(idx v1.ImageIndex, want *v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var found []v1.Descriptor
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() || d.MediaType.IsIndex() {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return nil, errors.New("index lists no image")
	}
	pick := found[0]
	if len(found) > 1 {
		ok := false
		for _, d := range found {
			if d.Platform != nil && d.Platform.Satisfies(*want) {
				pick, ok = d, true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("index lists %d images and none for %s", len(found), want)
		}
	}
	if pick.MediaType.IsIndex() {
		child, err := idx.ImageIndex(pick.Digest)
		if err != nil {
			return nil, err
		}
		return imageFromIndex(child, want)
	}
	return idx.Image(pick.Digest)
}

// openOCIArchive unpacks the archive into a temporary folder (bounded by
// opts.MaxArchiveBytes; names are confined to the folder) and opens it
// as a layout.
func openOCIArchive(ctx context.Context, p string, opts Options) (*Image, error) {
	dir, err := os.MkdirTemp(opts.TempDir, "kordon-oci-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := untar(ctx, p, dir, opts.MaxArchiveBytes); err != nil {
		cleanup()
		return nil, fmt.Errorf("oci-archive %s: %w", p, err)
	}
	img, err := openLayout(dir, opts)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("oci-archive %s: %w", p, err)
	}
	img.Kind, img.Name, img.cleanup = KindOCIArchive, p, cleanup
	return img, nil
}

func untar(ctx context.Context, p, dir string, limit int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(f)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		n := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if n == "." || n == ".." || strings.HasPrefix(n, "../") {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(filepath.FromSlash(n), 0o755); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeReg:
			total += h.Size
			if total > limit {
				return fmt.Errorf("%s: archive larger than %d bytes", h.Name, limit)
			}
			if d := path.Dir(n); d != "." {
				if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
					return fmt.Errorf("%s: %w", h.Name, err)
				}
			}
			out, err := root.OpenFile(filepath.FromSlash(n), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		}
	}
}

func openRemote(ctx context.Context, ref string, opts Options) (*Image, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a file nor an image reference: %w", ref, err)
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(*opts.Platform)}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
		img, err = imageFromIndex(idx, opts.Platform)
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
	} else {
		img, err = desc.Image()
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
	}
	return &Image{Image: img, Kind: KindRegistry, Name: ref, RefDigest: desc.Digest}, nil
}
