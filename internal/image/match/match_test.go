package match_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"

	// The image tests read the Go vulnerability database's OSV records
	// from the golang.org/x/vulndb module (data/osv); this import keeps
	// the module in go.mod so that `go list -m` finds it in the cache.
	_ "golang.org/x/vulndb/report"
)

func ev(kv ...string) []osv.Event {
	var out []osv.Event
	for i := 0; i < len(kv); i += 2 {
		var e osv.Event
		switch kv[i] {
		case "i":
			e.Introduced = kv[i+1]
		case "f":
			e.Fixed = kv[i+1]
		case "l":
			e.LastAffected = kv[i+1]
		case "lim":
			e.Limit = kv[i+1]
		}
		out = append(out, e)
	}
	return out
}

func TestAffects(t *testing.T) {
	for _, c := range []struct {
		name     string
		eco      string
		events   []osv.Event
		versions []string
		v        string
		hit      bool
		fix      string
	}{
		{"introduced 0, fixed", "Go", ev("i", "0", "f", "1.2.0"), nil, "v1.1.9", true, "1.2.0"},
		{"at the fix", "Go", ev("i", "0", "f", "1.2.0"), nil, "v1.2.0", false, ""},
		{"before introduced", "Go", ev("i", "1.0.0", "f", "1.2.0"), nil, "v0.9.0", false, ""},
		{"two windows, second", "Go", ev("i", "0", "f", "1.2.0", "i", "1.5.0", "f", "1.5.3"), nil, "v1.5.1", true, "1.5.3"},
		{"two windows, between", "Go", ev("i", "0", "f", "1.2.0", "i", "1.5.0", "f", "1.5.3"), nil, "v1.3.0", false, ""},
		{"events out of order", "Go", ev("f", "1.5.3", "i", "1.5.0", "f", "1.2.0", "i", "0"), nil, "v1.5.1", true, "1.5.3"},
		{"last_affected equal", "Debian:12", ev("i", "0", "l", "1.0-2"), nil, "1.0-2", true, ""},
		{"last_affected above", "Debian:12", ev("i", "0", "l", "1.0-2"), nil, "1.0-2+b1", false, ""},
		{"limit", "Go", ev("i", "0", "lim", "2.0.0"), nil, "v2.1.0", false, ""},
		{"below limit", "Go", ev("i", "0", "lim", "2.0.0"), nil, "v1.9.0", true, ""},
		{"versions list", "PyPI", nil, []string{"1.0", "1.1"}, "1.1", true, ""},
		{"not in versions list", "PyPI", nil, []string{"1.0", "1.1"}, "1.2", false, ""},
		{"debian epoch", "Debian:12", ev("i", "0", "f", "1:1.2-1"), nil, "1.9-1", true, "1:1.2-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &osv.Affected{Versions: c.versions}
			if c.events != nil {
				a.Ranges = []osv.Range{{Type: "ECOSYSTEM", Events: c.events}}
			}
			hit, fix, err := match.Affects(a, c.eco, c.v)
			if err != nil || hit != c.hit || fix != c.fix {
				t.Errorf("Affects(%s) = %v, %q, %v; want %v, %q", c.v, hit, fix, err, c.hit, c.fix)
			}
		})
	}
}

func TestLoadZipAndBadRecords(t *testing.T) {
	dir := t.TempDir()
	zf, err := os.Create(filepath.Join(dir, "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	for name, body := range map[string]string{
		"GOOD-1.json": `{"id":"GOOD-1","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
		"BAD-1.json":  `{"id":"BAD-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`,
		"BAD-2.json":  `{"id":`,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	zf.Close()
	db, err := osv.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Records() != 1 || len(db.Lookup("Go", "example.com/m")) != 1 {
		t.Errorf("records %d", db.Records())
	}
	if len(db.Errors) != 2 {
		t.Fatalf("errors %v", db.Errors)
	}
	for _, e := range db.Errors {
		if !strings.Contains(e.Error(), "all.zip: BAD-") {
			t.Errorf("error does not name the zip entry: %v", e)
		}
	}
}
