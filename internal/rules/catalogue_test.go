package rules

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/rules/packs"
)

// TestBuiltinFixtures runs every built-in rule against its pass and fail
// fixtures.
func TestBuiltinFixtures(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	results, err := TestFixtures(context.Background(), rs, nil, packs.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(r.RuleID+"/"+r.File[strings.LastIndex(r.File, "/")+1:], func(t *testing.T) {
			if !r.OK() {
				t.Errorf("%s: %s", r.File, r.Problem)
			}
		})
	}
}

// mitreID is a MITRE ATT&CK technique or sub-technique ID.
var mitreID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// TestBuiltinControls checks that built-in rules use only the four
// frameworks (and MITRE ATT&CK, for runtime rules) with well-formed control IDs.
func TestBuiltinControls(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		for _, c := range r.Controls {
			fw, id, _ := strings.Cut(c, ":")
			switch fw {
			case "CIS", "NIST-800-190":
				if strings.Trim(id, "0123456789.") != "" {
					t.Errorf("%s: control %s: want a numbered section", r.ID, c)
				}
			case "NSA", "PSS":
			case "MITRE":
				if !mitreID.MatchString(id) {
					t.Errorf("%s: control %s: want an ATT&CK technique such as T1059.004", r.ID, c)
				}
			default:
				t.Errorf("%s: control %s: unknown framework %q", r.ID, c, fw)
			}
		}
	}
}
