package layers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/layers"
)

// FuzzFlatten flattens two arbitrary layers (seeded with tars holding
// whiteouts, opaque markers, links and escaping names): Flatten must not
// fail or panic, every kept file must exist inside the output folder with
// the recorded size and come from one of the layers, and nothing may be
// written outside the folder.
func FuzzFlatten(f *testing.F) {
	fl := imagetest.File
	f.Add(imagetest.Tar(imagetest.Dir("a"), fl("a/keep", []byte("0")), fl("b/x", []byte("0")), fl("c/d", []byte("0"))),
		imagetest.Tar(imagetest.Whiteout("a/keep"), imagetest.Opaque("b"), fl("c", []byte("1")), fl("b/y", []byte("1"))))
	f.Add(imagetest.Tar(imagetest.Symlink("l", "../../etc"), fl("../escape", []byte("x")), fl("/abs", []byte("y"))),
		imagetest.Tar(fl("l/passwd", []byte("z")), imagetest.Whiteout("../x"), fl(".wh..wh..opq", nil)))
	f.Add([]byte("not a tar"), imagetest.Tar(fl("./dot/file", []byte("1")))[:700])
	f.Fuzz(func(t *testing.T, lower, upper []byte) {
		parent := t.TempDir()
		L, U := rawLayer(lower), rawLayer(upper)
		tree, err := layers.Flatten(context.Background(), []layers.Layer{L, U}, all, parent, layers.Limits{MaxFileBytes: 1 << 12, MaxTotalBytes: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		defer tree.Close()
		for p, file := range tree.Files {
			if file.Layer != L.Digest && file.Layer != U.Digest {
				t.Fatalf("%s: from unknown layer %s", p, file.Layer)
			}
			if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") {
				t.Fatalf("kept path %q is not confined", p)
			}
			st, err := os.Lstat(filepath.Join(tree.Dir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatalf("kept file %q not written: %v", p, err)
			}
			if st.Mode().IsRegular() && st.Size() != file.Size {
				t.Fatalf("%s: %d bytes written, %d recorded", p, st.Size(), file.Size)
			}
		}
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if filepath.Join(parent, e.Name()) != tree.Dir {
				t.Fatalf("wrote %s outside the tree", e.Name())
			}
		}
	})
}
