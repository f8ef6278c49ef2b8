package match_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
)

// TestSeverityPrecedence: the newest CVSS version with a valid vector
// decides (v4.0, then v3.x, then v2), then the record's label; an invalid
// vector is an error naming the record and never hides the others.
func TestSeverityPrecedence(t *testing.T) {
	const (
		v4     = `{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}` // 9.2
		v4Low  = `{"type":"CVSS_V4","score":"CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}` // 1.0
		v4Bad  = `{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:X/SC:N/SI:N/SA:N"}`
		v3     = `{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}` // 7.5
		v3Bad  = `{"type":"CVSS_V3","score":"CVSS:3.1/AV:N"}`
		v2     = `{"type":"CVSS_V2","score":"AV:N/AC:L/Au:N/C:C/I:C/A:C"}` // 10.0
		high   = `,"database_specific":{"severity":"HIGH"}`
		nolabl = ``
	)
	tests := []struct {
		name, severity, label string
		want                  string
		score                 float64
		errs                  []string
	}{
		{"v4 over v3 and v2", v3 + "," + v2 + "," + v4Low, nolabl, "low", 1.0, nil},
		{"v4 highest of two", v4Low + "," + v4, nolabl, "critical", 9.2, nil},
		{"v3 over v2", v2 + "," + v3, nolabl, "high", 7.5, nil},
		{"v2 alone, NVD rating", v2, nolabl, "high", 10.0, nil},
		{"invalid v4 falls back to v3", v4Bad + "," + v3, nolabl, "high", 7.5, []string{`R-1: severity CVSS_V4: cvss "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:X/SC:N/SI:N/SA:N": metric VA="X"`}},
		{"invalid vectors keep the label", v4Bad + "," + v3Bad, high, "high", 0, []string{"R-1: severity CVSS_V4", "R-1: severity CVSS_V3"}},
		{"invalid vector without label", v3Bad, nolabl, "unknown", 0, []string{"R-1: severity CVSS_V3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			body := `{"id":"R-1","severity":[` + tt.severity + `]` + tt.label +
				`,"affected":[{"package":{"ecosystem":"PyPI","name":"pkg"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`
			if err := os.WriteFile(filepath.Join(dir, "R-1.json"), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := osv.Load(dir)
			if err != nil || len(db.Errors) > 0 {
				t.Fatalf("load: %v %v", err, db.Errors)
			}
			vulns, errs := match.Match(db, []inventory.Package{{Name: "pkg", Version: "1.0", Ecosystem: "PyPI"}})
			if len(vulns) != 1 || vulns[0].Severity != tt.want || vulns[0].Score != tt.score {
				t.Fatalf("got %+v, want severity %s score %v", vulns, tt.want, tt.score)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tt.errs))
			}
			for i, w := range tt.errs {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d: %v, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}
