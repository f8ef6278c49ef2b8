package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func shopResult(t *testing.T) *analyzer.Result {
	t.Helper()
	data, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := k8s.Decode(data, "shop.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	return analyzer.Analyze(c, analyzer.Options{})
}

func TestGolden(t *testing.T) {
	g := shopResult(t)
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, g); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "shop."+format)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s (run go test -update after checking):\n%s", format, path, buf.String())
			}
		})
	}
}

// TestJSONContract checks the documented fields and the omission of a
// workload's connection to itself.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "json", shopResult(t)); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no connections")
	}
	for _, c := range got {
		for _, k := range []string{"src", "srcKind", "dst", "dstKind", "all", "ports"} {
			if _, ok := c[k]; !ok {
				t.Errorf("connection %v lacks %q", c, k)
			}
		}
		if c["src"] == c["dst"] {
			t.Errorf("connection to itself listed: %v", c)
		}
	}
}

func TestEmpty(t *testing.T) {
	empty := analyzer.Analyze(&model.Cluster{}, analyzer.Options{})
	for _, format := range Formats() {
		var buf bytes.Buffer
		if err := Write(&buf, format, empty); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
	var buf bytes.Buffer
	_ = Write(&buf, "json", empty)
	if got := buf.String(); got != "[]\n" {
		t.Errorf("empty json = %q, want []", got)
	}
	if err := Write(&buf, "yaml", empty); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestStreamedJSONMatchesEncoder checks that the streamed JSON is exactly
// what encoding/json writes for the whole array.
func TestStreamedJSONMatchesEncoder(t *testing.T) {
	r := shopResult(t)
	var streamed, whole bytes.Buffer
	if err := Write(&streamed, "json", r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&whole, FromResult(r).Connections); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != whole.String() {
		t.Errorf("streamed JSON differs from encoding/json:\n%s\nwant\n%s", streamed.String(), whole.String())
	}
}
