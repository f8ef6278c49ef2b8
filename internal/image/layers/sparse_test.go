package layers_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/layers"
)

// sparseTar returns a tar stream of one old-GNU sparse file ('S') of
// logical size realSize whose only data is 512 bytes at its end, then a
// regular file. archive/tar reads such files but cannot write them, so
// the header is patched by hand (GNU tar's format: the sparse map at
// offset 386, the real size at 483, numbers past 8 GiB in base 256).
func sparseTar(t *testing.T, realSize int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := bytes.Repeat([]byte("s"), 512)
	if err := tw.WriteHeader(&tar.Header{Name: "var/sparse.img", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	if err := tw.WriteHeader(&tar.Header{Name: "etc/after", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("ok"))
	tw.Close()
	b := buf.Bytes()
	h := b[:512]
	// numeric writes a field in octal, or in GNU's base-256 when the
	// value needs more than n-1 octal digits (10 GB does).
	numeric := func(off, n int, v int64) {
		field := h[off : off+n]
		s := strconv.FormatInt(v, 8)
		if len(s) > n-1 {
			for i := n - 1; i > 0; i, v = i-1, v>>8 {
				field[i] = byte(v)
			}
			field[0] = 0x80
			return
		}
		for i := range field {
			field[i] = '0'
		}
		copy(field[n-1-len(s):], s)
		field[n-1] = 0
	}
	h[156] = tar.TypeGNUSparse
	numeric(386, 12, realSize-512) // sparse[0].offset
	numeric(398, 12, 512)          // sparse[0].numbytes
	numeric(483, 12, realSize)     // realsize
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestSparseFile: a 10 GB sparse file is refused by its logical size,
// without reading or writing its holes, and the layer's other files are
// still read.
func TestSparseFile(t *testing.T) {
	const tenGB = 10 << 30
	b := sparseTar(t, tenGB)
	tr := tar.NewReader(bytes.NewReader(b))
	if h, err := tr.Next(); err != nil || h.Size != tenGB {
		t.Fatalf("the crafted entry does not read as a 10 GB sparse file: %v %+v", err, h)
	}
	l := rawLayer(b)
	tree := flatten(t, l, rawLayer(imagetest.Tar(imagetest.File("etc/good", []byte("ok")))))
	for _, p := range []string{"etc/after", "etc/good"} {
		if _, ok := tree.Files[p]; !ok {
			t.Errorf("%s missing: %v", p, tree.Errors)
		}
	}
	if _, ok := tree.Files["var/sparse.img"]; ok {
		t.Error("the sparse file was written")
	}
	var ee *layers.EntryError
	if len(tree.Errors) != 1 || !errors.As(tree.Errors[0], &ee) || ee.Layer != l.Digest || ee.Path != "var/sparse.img" || !errors.Is(ee, layers.ErrTooLarge) {
		t.Errorf("errors %v: want ErrTooLarge naming the layer and var/sparse.img", tree.Errors)
	}
}

// TestSmallSparseFile: a sparse file within the limits is a regular file
// of its logical size, holes read as zeros.
func TestSmallSparseFile(t *testing.T) {
	tree := flatten(t, rawLayer(sparseTar(t, 1024)))
	f, ok := tree.Files["var/sparse.img"]
	if !ok || f.Size != 1024 || len(tree.Errors) > 0 {
		t.Fatalf("file %+v (%v), errors %v; want 1024 bytes", f, ok, tree.Errors)
	}
	if err := tree.Materialize("var/sparse.img"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(tree.Dir, "var", "sparse.img"))
	if err != nil || !bytes.Equal(b, append(make([]byte, 512), bytes.Repeat([]byte("s"), 512)...)) {
		t.Errorf("content %d bytes, %v; want 512 zeros then 512 s", len(b), err)
	}
}
