package layers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/layers"
)

func rawLayer(b []byte) layers.Layer {
	return layers.Layer{
		Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))},
		Open:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
	}
}

func all(string, fs.FileInfo) bool { return true }

func flatten(t *testing.T, ls ...layers.Layer) *layers.Tree {
	t.Helper()
	tree, err := layers.Flatten(context.Background(), ls, all, t.TempDir(), layers.Limits{MaxFileBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree
}

// TestWhiteouts checks the final filesystem against the OCI image layer
// specification's rules, with the layer each file comes from.
func TestWhiteouts(t *testing.T) {
	f := imagetest.File
	l0 := imagetest.Tar(imagetest.Dir("a"), f("a/keep", []byte("0")), f("a/gone", []byte("0")),
		f("b/x", []byte("0")), f("b/y", []byte("0")), f("c/d/e", []byte("0")), f("over", []byte("0")), f("./dot/file", []byte("0")))
	l1 := imagetest.Tar(imagetest.Whiteout("a/gone"), imagetest.Opaque("b"), f("b/z", []byte("1")),
		f("c", []byte("file replacing a dir")), f("over", []byte("1")), imagetest.Whiteout("dot"))
	l2 := imagetest.Tar(f("a/gone", []byte("2")), imagetest.Whiteout("b/z"), f("dot/new", []byte("2")))
	L0, L1, L2 := rawLayer(l0), rawLayer(l1), rawLayer(l2)
	tree := flatten(t, L0, L1, L2)
	if len(tree.Errors) > 0 {
		t.Fatal(tree.Errors)
	}
	want := map[string]v1.Hash{
		"a/keep": L0.Digest, "a/gone": L2.Digest, "c": L1.Digest, "over": L1.Digest, "dot/new": L2.Digest,
	}
	got := map[string]v1.Hash{}
	for p, f := range tree.Files {
		got[p] = f.Layer
	}
	if !maps.Equal(got, want) {
		t.Errorf("files:\ngot  %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	b, err := os.ReadFile(filepath.Join(tree.Dir, "over"))
	if err != nil || string(b) != "1" {
		t.Errorf("over = %q, %v; want the upper layer's content", b, err)
	}
}

func TestBadLayers(t *testing.T) {
	good := rawLayer(imagetest.Tar(imagetest.File("etc/good", []byte("ok"))))
	full := imagetest.Tar(imagetest.File("etc/truncated", bytes.Repeat([]byte("x"), 600)), imagetest.File("etc/after", []byte("x")))
	truncated := rawLayer(full[:700])
	tampered := rawLayer(imagetest.Tar(imagetest.File("etc/tampered", []byte("evil"))))
	tampered.Digest.Hex = fmt.Sprintf("%x", sha256.Sum256([]byte("something else")))
	escaping := rawLayer(imagetest.Tar(imagetest.File("../../escape", []byte("x")), imagetest.File("etc/big", bytes.Repeat([]byte("x"), 2000)),
		imagetest.Symlink("etc/link", "../../../etc/passwd")))
	tree := flatten(t, good, truncated, tampered, escaping)
	if _, ok := tree.Files["etc/good"]; !ok {
		t.Error("the good layer's file is missing")
	}
	if _, ok := tree.Files["etc/tampered"]; ok {
		t.Error("a file of a layer whose digest does not match was kept")
	}
	wantErrs := []struct {
		layer v1.Hash
		path  string
		err   error
	}{
		{escaping.Digest, "../../escape", layers.ErrEscapes},
		{escaping.Digest, "etc/big", layers.ErrTooLarge},
		{tampered.Digest, "", layers.ErrDigestMismatch},
		{truncated.Digest, "etc/truncated", io.ErrUnexpectedEOF},
	}
	if len(tree.Errors) != len(wantErrs) {
		t.Fatalf("errors: %v", tree.Errors)
	}
	for i, w := range wantErrs {
		var ee *layers.EntryError
		if !errors.As(tree.Errors[i], &ee) || ee.Layer != w.layer || ee.Path != w.path || !errors.Is(ee, w.err) {
			t.Errorf("error %d = %v; want layer %s path %q: %v", i, tree.Errors[i], w.layer, w.path, w.err)
		}
	}
	if _, err := tree.Resolve("etc/link"); !errors.Is(err, layers.ErrEscapes) {
		t.Errorf("Resolve of a link leaving the root = %v; want ErrEscapes", err)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "..", "..", "escape")); err == nil {
		t.Error("a file was written outside the tree")
	}
}

func TestResolve(t *testing.T) {
	l := rawLayer(imagetest.Tar(imagetest.File("usr/lib/os-release", []byte("ID=debian\n")), imagetest.Symlink("etc/os-release", "../usr/lib/os-release"),
		imagetest.Symlink("lib", "usr/lib"), imagetest.Symlink("abs", "/lib/os-release")))
	tree := flatten(t, l)
	for _, p := range []string{"etc/os-release", "lib/os-release", "abs"} {
		got, err := tree.Resolve(p)
		if err != nil || got != "usr/lib/os-release" {
			t.Errorf("Resolve(%s) = %q, %v", p, got, err)
		}
	}
	if err := tree.Materialize("etc/os-release"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Dir, "etc", "os-release")); string(b) != "ID=debian\n" {
		t.Errorf("materialized %q", b)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := layers.Flatten(ctx, []layers.Layer{rawLayer(imagetest.Tar())}, all, t.TempDir(), layers.Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
