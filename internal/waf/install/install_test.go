package install

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderGolden(t *testing.T) {
	for name, o := range map[string]Options{
		"ext-authz.yaml":  {Image: "ghcr.io/kordon-dev/kordon:v1"},
		"with-proxy.yaml": {Image: "ghcr.io/kordon-dev/kordon:v1", Upstream: "http://web.shop.svc:3000", Paranoia: 2, Mode: "detect", Namespace: "shop"},
	} {
		got, err := Render(o)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs (go test -update):\n%s", name, got)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, o := range []Options{{}, {Image: "x", Paranoia: 9}, {Image: "x", Mode: "log"}, {Image: "x", Upstream: "web:3000"}, {Image: "x", Namespace: "Bad_NS"}} {
		if _, err := Render(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
