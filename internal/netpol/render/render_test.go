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
	return analyzer.Analyze(load(t, "shop.yaml"), analyzer.Options{})
}

// golden compares got with the file at path, rewriting the file first
// with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking):\n%s", path, got)
	}
}

// load reads a cluster from a file of testdata.
func load(t *testing.T, name string) *model.Cluster {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAs(t, string(data), name)
}

// decode reads a cluster from YAML, as if from a file test.yaml.
func decode(t *testing.T, yaml string) *model.Cluster {
	t.Helper()
	return decodeAs(t, yaml, "test.yaml")
}

func decodeAs(t *testing.T, yaml, name string) *model.Cluster {
	t.Helper()
	objs, errs := k8s.Decode([]byte(yaml), name)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	return c
}

func TestAnalysisGolden(t *testing.T) {
	r := shopResult(t)
	for _, format := range AnalysisFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteAnalysis(&buf, format, r); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "shop."+format), buf.Bytes())
		})
	}
}

// TestJSONContract checks the documented fields and the omission of a
// workload's connection to itself.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAnalysis(&buf, "json", shopResult(t)); err != nil {
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

func TestEmptyAnalysis(t *testing.T) {
	empty := analyzer.Analyze(&model.Cluster{}, analyzer.Options{})
	for _, format := range AnalysisFormats() {
		var buf bytes.Buffer
		if err := WriteAnalysis(&buf, format, empty); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
	var buf bytes.Buffer
	_ = WriteAnalysis(&buf, "json", empty)
	if got := buf.String(); got != "[]\n" {
		t.Errorf("empty json = %q, want []", got)
	}
	if err := WriteAnalysis(&buf, "yaml", empty); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestStreamedJSONMatchesEncoder checks that the streamed JSON is exactly
// what encoding/json writes for the whole array.
func TestStreamedJSONMatchesEncoder(t *testing.T) {
	r := shopResult(t)
	var streamed, whole bytes.Buffer
	if err := WriteAnalysis(&streamed, "json", r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&whole, FromResult(r).Connections); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != whole.String() {
		t.Errorf("streamed JSON differs from encoding/json:\n%s\nwant\n%s", streamed.String(), whole.String())
	}
}
