package match_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/cvss"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
)

// FuzzOSVRecord loads an arbitrary OSV record and matches an arbitrary
// version against every affected entry, scoring every severity: a record
// is either loaded or reported in DB.Errors, never both or neither, and
// nothing panics.
func FuzzOSVRecord(f *testing.F) {
	f.Add([]byte(`{"id":"GO-2024-0001","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.7.0"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`), "v0.6.0")
	f.Add([]byte(`{"id":"DSA-1","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"3.0.11-1~deb12u2"}]}],"versions":["1:1.0-1"],"severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}]}`), "3.0.11-1~deb12u1")
	f.Add([]byte(`{"id":"PYSEC-1","affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"limit":"2.0"},{"fixed":"1.5"}]}]}],"severity":[{"type":"CVSS_V2","score":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}]}`), "1.4")
	f.Add([]byte(`{"id":"","affected":[{"ranges":[{"events":[{"introduced":"0","fixed":"1"}]}]}]}`), "1")
	f.Fuzz(func(t *testing.T, record []byte, v string) {
		p := filepath.Join(t.TempDir(), "r.json")
		if err := os.WriteFile(p, record, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := osv.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if db.Records()+len(db.Errors) != 1 {
			t.Fatalf("%d records loaded and %d errors for one file", db.Records(), len(db.Errors))
		}
		for _, eco := range []string{"Go", "Debian:12", "PyPI", "Alpine:v3.20", "npm", "Maven"} {
			for _, name := range db.Names(eco) {
				for _, e := range db.Lookup(eco, name) {
					hit, fix, err := match.Affects(e.Affected, eco, v)
					if err == nil && !hit && fix != "" {
						t.Fatalf("a fix %q for a version not affected", fix)
					}
					for _, s := range append(append([]osv.Severity(nil), e.Record.Severity...), e.Affected.Severity...) {
						if sc, err := cvss.BaseScore(s.Score); err == nil && (sc < 0 || sc > 10) {
							t.Fatalf("%s scores %v", s.Score, sc)
						}
					}
				}
			}
		}
	})
}
