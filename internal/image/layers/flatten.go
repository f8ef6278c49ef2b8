// Package layers flattens an image's layers into the final filesystem a
// container sees, without unpacking the image: layers are streamed from the
// top (last) one down, and an entry is kept only when no higher layer
// replaced it, deleted it (a whiteout, .wh.NAME) or hid its directory (an
// opaque whiteout, .wh..wh..opq, or a non-directory at a parent path).
// Only the files a caller asks for are written, into a temporary folder
// confined with os.Root; every kept file records the layer it came from.
//
// Memory grows with the number of paths in the image, never with the size
// of its files: file contents are streamed from the layer to disk.
// Problems with one entry or layer (a truncated tar, a digest that does not
// match, an oversized file, a path escaping the root) are collected as
// *EntryError values and the rest of the image is still read.
package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Whiteout name prefixes of the OCI image layer specification.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Limits bound what Flatten writes to disk.
type Limits struct {
	// MaxFileBytes skips a wanted file larger than this (default 512 MiB).
	MaxFileBytes int64
	// MaxTotalBytes stops writing files once this much was written
	// (default 4 GiB).
	MaxTotalBytes int64
}

func (l *Limits) defaults() {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 512 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 4 << 30
	}
}

// Want decides whether a visible regular file is written out. p is the
// slash-separated path relative to the root ("var/lib/dpkg/status").
type Want func(p string, info fs.FileInfo) bool

// Layer is one layer of an image to flatten.
type Layer struct {
	// Digest identifies the layer in results: the diff ID (the digest of
	// the uncompressed tar), which Flatten verifies.
	Digest v1.Hash
	// Open returns the uncompressed tar stream.
	Open func() (io.ReadCloser, error)
}

// FromImage returns the layers of img, lowest first, identified by their
// diff IDs from the image config.
func FromImage(img v1.Image) ([]Layer, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(ls) {
		return nil, fmt.Errorf("image config lists %d diff IDs for %d layers", len(cf.RootFS.DiffIDs), len(ls))
	}
	out := make([]Layer, len(ls))
	for i, l := range ls {
		out[i] = Layer{Digest: cf.RootFS.DiffIDs[i], Open: l.Uncompressed}
	}
	return out, nil
}

// File is a file of the flattened filesystem that was written out.
type File struct {
	// Layer is the diff ID of the layer the file came from.
	Layer v1.Hash
	Size  int64
	Mode  fs.FileMode
}

// Tree is the result of Flatten: the wanted files, written under Dir.
type Tree struct {
	// Dir is the root of the written files; remove it with Close.
	Dir string
	// Files maps a slash path relative to the root to its origin.
	Files map[string]File
	// Symlinks maps each visible symbolic link to its target, as written.
	Symlinks map[string]string
	// Layers are the image's layers, lowest first.
	Layers []v1.Hash
	// Errors are the problems met; each names its layer and path.
	Errors []error
	// Skipped are files left out on purpose (too large to inspect).
	Skipped []error
}

// Close removes the written files.
func (t *Tree) Close() error { return os.RemoveAll(t.Dir) }

// EntryError is a problem with one layer, or one entry of a layer.
type EntryError struct {
	Layer v1.Hash
	Path  string // empty for the layer as a whole
	Err   error
}

func (e *EntryError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("layer %s: %v", e.Layer, e.Err)
	}
	return fmt.Sprintf("layer %s: %s: %v", e.Layer, e.Path, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// Errors returned inside EntryError values.
var (
	ErrDigestMismatch = errors.New("layer content does not match its digest")
	ErrTooLarge       = errors.New("file larger than the limit")
	ErrEscapes        = errors.New("path escapes the root")
)

// shadow flags: what higher layers did to a path.
const (
	seen    uint8 = 1 << iota // an entry exists at the path
	deleted                   // a whiteout deleted the path
	opaque                    // an opaque whiteout hid the directory's lower contents
	nondir                    // the entry is not a directory: lower paths below it are hidden
)

// Inspector reads files of the final filesystem as they stream by,
// without writing them: Want selects the files, Inspect receives the
// contents of each (at most MaxBytes; larger ones are skipped and
// reported). Secret detection uses it.
type Inspector struct {
	Want     Want
	Inspect  func(p string, layer v1.Hash, data []byte)
	MaxBytes int64 // default 1 MiB
}

// Flatten writes the wanted files of the final filesystem of layers
// (lowest first) into a new folder under tmpDir. It returns an error only
// when ctx is done or the folder cannot be made; problems with the image
// are in Tree.Errors. The caller closes the tree.
func Flatten(ctx context.Context, layers []Layer, want Want, tmpDir string, lim Limits) (*Tree, error) {
	return FlattenInspect(ctx, layers, want, nil, tmpDir, lim)
}

// FlattenInspect is Flatten that also shows the files ins wants to it
// (ins may be nil). Every file of the final filesystem is seen once, from
// the layer it comes from, since layers are read from the top down.
func FlattenInspect(ctx context.Context, layers []Layer, want Want, ins *Inspector, tmpDir string, lim Limits) (*Tree, error) {
	lim.defaults()
	if ins != nil && ins.MaxBytes <= 0 {
		ins.MaxBytes = 1 << 20
	}
	dir, err := os.MkdirTemp(tmpDir, "kordon-fs-")
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer root.Close()
	f := &flattener{
		root: root, want: want, lim: lim, ins: ins,
		shadow: map[string]uint8{},
		tree:   &Tree{Dir: dir, Files: map[string]File{}, Symlinks: map[string]string{}},
	}
	for _, l := range layers {
		f.tree.Layers = append(f.tree.Layers, l.Digest)
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			f.tree.Close()
			return nil, err
		}
		f.layer(ctx, layers[i])
	}
	if err := ctx.Err(); err != nil {
		f.tree.Close()
		return nil, err
	}
	return f.tree, nil
}

type flattener struct {
	root    *os.Root
	want    Want
	ins     *Inspector
	lim     Limits
	shadow  map[string]uint8
	written int64
	tree    *Tree
	marks   []mark // this layer's effects on lower layers, applied after it
	broken  bool   // the layer's stream failed: stop reading it
}

type mark struct {
	p    string
	flag uint8
}

func (f *flattener) fail(l v1.Hash, p string, err error) {
	f.tree.Errors = append(f.tree.Errors, &EntryError{Layer: l, Path: p, Err: err})
}

// hidden reports whether a path of a lower layer is hidden by higher ones.
func (f *flattener) hidden(p string) bool {
	if f.shadow[p]&(seen|deleted) != 0 {
		return true
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if f.shadow[d]&(deleted|opaque|nondir) != 0 {
			return true
		}
	}
	return false
}

// cleanName turns a tar entry name into a root-relative slash path; ok is
// false for names that leave the root.
func cleanName(n string) (string, bool) {
	n = strings.TrimLeft(n, "/")
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return strings.TrimLeft(c, "/"), true
}

// hashingReader hashes what the tar reader consumes.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (f *flattener) layer(ctx context.Context, l Layer) {
	f.marks, f.broken = f.marks[:0], false
	var layerFiles []string
	defer func() {
		for _, m := range f.marks {
			f.shadow[m.p] |= m.flag
		}
	}()
	rc, err := l.Open()
	if err != nil {
		f.fail(l.Digest, "", fmt.Errorf("open: %w", err))
		return
	}
	defer rc.Close()
	hr := &hashingReader{r: rc, h: sha256.New()}
	tr := tar.NewReader(hr)
	last := ""
	for {
		if ctx.Err() != nil {
			return
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			where := "after the last entry"
			if last != "" {
				where = "after " + last
			}
			f.fail(l.Digest, last, fmt.Errorf("read tar %s: %w", where, err))
			return
		}
		last = h.Name
		if h.Typeflag == tar.TypeGNUSparse {
			// An old-GNU sparse file is a regular file: archive/tar gives
			// its logical size and content (holes as zeros).
			h.Typeflag = tar.TypeReg
		}
		p, ok := cleanName(h.Name)
		if !ok {
			f.fail(l.Digest, h.Name, ErrEscapes)
			continue
		}
		if p == "." || p == "" {
			continue
		}
		base, dir := path.Base(p), path.Dir(p)
		if base == opaqueMarker {
			f.marks = append(f.marks, mark{dir, opaque})
			continue
		}
		if target, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
			if dir != "." {
				target = dir + "/" + target
			}
			if !f.hidden(target) {
				f.marks = append(f.marks, mark{target, deleted})
			}
			continue
		}
		if f.hidden(p) {
			continue
		}
		flag := seen
		if h.Typeflag != tar.TypeDir {
			flag |= nondir
		}
		f.marks = append(f.marks, mark{p, flag})
		switch h.Typeflag {
		case tar.TypeSymlink:
			f.tree.Symlinks[p] = h.Linkname
		case tar.TypeReg, tar.TypeLink:
			if f.file(l.Digest, p, h, tr) {
				layerFiles = append(layerFiles, p)
			}
			if f.broken {
				return
			}
		}
	}
	// Read to the end so that the digest covers the whole stream.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		f.fail(l.Digest, "", fmt.Errorf("read: %w", err))
		return
	}
	if got := fmt.Sprintf("sha256:%x", hr.h.Sum(nil)); l.Digest.Algorithm == "sha256" && got != l.Digest.String() {
		// The content is not what the image promised: drop what it gave.
		for _, p := range layerFiles {
			delete(f.tree.Files, p)
			_ = f.root.Remove(filepath.FromSlash(p))
		}
		f.fail(l.Digest, "", fmt.Errorf("%w (read %s)", ErrDigestMismatch, got))
	}
}

// file writes a wanted regular file or hard link; it reports whether the
// file was written.
func (f *flattener) file(layer v1.Hash, p string, h *tar.Header, r io.Reader) bool {
	info := h.FileInfo()
	if h.Typeflag == tar.TypeReg && f.ins != nil && f.ins.Want(p, info) {
		if h.Size > f.ins.MaxBytes {
			f.tree.Skipped = append(f.tree.Skipped, &EntryError{Layer: layer, Path: p,
				Err: fmt.Errorf("not inspected: %w (%d bytes, limit %d)", ErrTooLarge, h.Size, f.ins.MaxBytes)})
		} else {
			data, err := io.ReadAll(io.LimitReader(r, h.Size))
			if err != nil {
				f.broken = true
				f.fail(layer, p, fmt.Errorf("read file: %w", err))
				return false
			}
			f.ins.Inspect(p, layer, data)
			r = bytes.NewReader(data)
		}
	}
	if h.Typeflag == tar.TypeLink {
		t, ok := cleanName(h.Linkname)
		if !ok {
			f.fail(layer, p, fmt.Errorf("hard link to %q: %w", h.Linkname, ErrEscapes))
			return false
		}
		src, ok := f.tree.Files[t]
		if !ok || src.Layer != layer || !f.want(p, info) {
			return false // only links to files this layer already wrote
		}
		in, err := f.root.Open(filepath.FromSlash(t))
		if err != nil {
			f.fail(layer, p, err)
			return false
		}
		defer in.Close()
		return f.write(layer, p, in, src.Size, src.Mode)
	}
	if !f.want(p, info) {
		return false
	}
	if h.Size > f.lim.MaxFileBytes {
		f.fail(layer, p, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, h.Size, f.lim.MaxFileBytes))
		return false
	}
	if f.written+h.Size > f.lim.MaxTotalBytes {
		f.fail(layer, p, fmt.Errorf("%w: the files written so far reached the total limit of %d bytes", ErrTooLarge, f.lim.MaxTotalBytes))
		return false
	}
	return f.write(layer, p, r, h.Size, info.Mode())
}

func (f *flattener) write(layer v1.Hash, p string, r io.Reader, size int64, mode fs.FileMode) bool {
	fp := filepath.FromSlash(p)
	if d := filepath.Dir(fp); d != "." {
		if err := f.root.MkdirAll(d, 0o755); err != nil {
			f.fail(layer, p, fmt.Errorf("write: %w", err))
			return false
		}
	}
	out, err := f.root.OpenFile(fp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600|(mode.Perm()&0o111))
	if err != nil {
		f.fail(layer, p, fmt.Errorf("write: %w", err))
		return false
	}
	n, err := io.Copy(out, io.LimitReader(r, size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	f.written += n
	if err != nil {
		_ = f.root.Remove(fp)
		f.broken = true
		f.fail(layer, p, fmt.Errorf("read file: %w", err))
		return false
	}
	f.tree.Files[p] = File{Layer: layer, Size: n, Mode: mode}
	return true
}

// Resolve follows symbolic links of the flattened filesystem from p to a
// written file, within the root (at most 40 links). It returns the
// written file's path, or an error wrapping ErrEscapes when a link leaves
// the root.
func (t *Tree) Resolve(p string) (string, error) {
	for range 40 {
		if _, ok := t.Files[p]; ok {
			return p, nil
		}
		target, ok := t.Symlinks[p]
		if !ok {
			// A parent may be a link.
			resolved, changed, err := t.resolveParent(p)
			if err != nil || !changed {
				return "", fmt.Errorf("%s: %w", p, fs.ErrNotExist)
			}
			p = resolved
			continue
		}
		next, err := join(path.Dir(p), target)
		if err != nil {
			return "", fmt.Errorf("%s -> %s: %w", p, target, err)
		}
		p = next
	}
	return "", fmt.Errorf("%s: too many links", p)
}

func (t *Tree) resolveParent(p string) (string, bool, error) {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if target, ok := t.Symlinks[d]; ok {
			nd, err := join(path.Dir(d), target)
			if err != nil {
				return "", false, fmt.Errorf("%s -> %s: %w", d, target, err)
			}
			return path.Join(nd, strings.TrimPrefix(p, d+"/")), true, nil
		}
	}
	return "", false, nil
}

// join resolves a link target against the link's folder; absolute
// targets start at the root. Targets that climb above the root escape.
func join(dir, target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		dir = "."
	}
	depth := 0
	if dir != "." {
		depth = strings.Count(dir, "/") + 1
	}
	for _, part := range strings.Split(strings.Trim(target, "/"), "/") {
		switch part {
		case "..":
			depth--
			if depth < 0 {
				return "", ErrEscapes
			}
		case ".", "":
		default:
			depth++
		}
	}
	c := path.Clean(dir + "/" + strings.TrimLeft(target, "/"))
	return strings.TrimPrefix(c, "./"), nil
}

// Materialize copies the file p resolves to (following links) to p in the
// written tree, so that readers that do not follow links find it.
func (t *Tree) Materialize(p string) error {
	if _, ok := t.Files[p]; ok {
		return nil
	}
	src, err := t.Resolve(p)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(t.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	in, err := root.Open(filepath.FromSlash(src))
	if err != nil {
		return err
	}
	defer in.Close()
	if d := filepath.Dir(filepath.FromSlash(p)); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out, err := root.OpenFile(filepath.FromSlash(p), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	t.Files[p] = t.Files[src]
	return out.Close()
}
