package diff

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func load(t *testing.T, path string) *model.Cluster {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := k8s.Decode(data, path)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	return c
}

func TestGolden(t *testing.T) {
	changes := Diff(load(t, "testdata/old.yaml"), load(t, "testdata/new.yaml"))
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, changes); err != nil {
				t.Fatal(err)
			}
			path := "testdata/diff." + format
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", format, path, buf.String())
			}
		})
	}
}

func TestSameIsEmpty(t *testing.T) {
	c := load(t, "testdata/new.yaml")
	if got := Diff(c, load(t, "testdata/new.yaml")); len(got) != 0 {
		t.Errorf("Diff of a configuration with itself = %v, want none", got)
	}
}
