package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/admission/governance"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/intel"
	"github.com/kordon-dev/kordon/internal/netpol/lint"
	"github.com/kordon-dev/kordon/internal/operator/drift"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor"

	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
	"github.com/kordon-dev/kordon/internal/waf/bot"
)

// TestEveryEngineCheckIsCatalogued fails when an engine reports a check
// the catalogue lacks, or the catalogue names a native check an engine
// does not implement: the catalogue is the one list of checks.
func TestEveryEngineCheckIsCatalogued(t *testing.T) {
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	implemented := map[string][]string{
		rules.EngineNetpolLint: lint.IDs(),
		rules.EngineAdmission:  governance.IDs(),
		rules.EngineSensor:     sensor.IDs(),
		rules.EngineWAF:        slices.Concat(waf.IDs(), apischema.IDs(), bot.IDs()),
		rules.EngineIntel:      intel.IDs(),
		rules.EngineImage:      findings.IDs(),
		rules.EngineDrift:      drift.IDs(),
	}
	for _, c := range scanNativeChecks() {
		implemented[rules.EngineScan] = append(implemented[rules.EngineScan], c.ID())
	}
	for engine, ids := range implemented {
		for _, id := range ids {
			r, ok := cat.Lookup(id)
			if !ok {
				t.Errorf("%s reports %s, which is not in the catalogue", engine, id)
				continue
			}
			if !r.IsNative() || !r.RunsIn(engine) {
				t.Errorf("%s reports %s (%s), which the catalogue does not list as a native check of %s", engine, id, r.ID, engine)
			}
		}
	}
	for _, r := range cat.Rules() {
		if !r.IsNative() {
			continue
		}
		for _, engine := range r.Native.Engines {
			if !slices.ContainsFunc(implemented[engine], func(id string) bool { return slices.Contains(r.IDs(), id) }) {
				t.Errorf("native rule %s runs in %s by the catalogue, but %s implements none of %v", r.ID, engine, engine, r.IDs())
			}
		}
	}
}

// TestRulesListEveryEngine checks that kordon rules list -o json lists the
// checks of every engine with their controls and aliases.
func TestRulesListEveryEngine(t *testing.T) {
	out, stderr, code := run(t, "", "rules", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list []struct {
		ID       string   `json:"id"`
		Aliases  []string `json:"aliases"`
		Controls []string `json:"controls"`
		Native   *struct {
			Engines []string `json:"engines"`
		} `json:"native"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, r := range list {
		byID[r.ID] = i
	}
	for _, id := range []string{"KOR-POD-001", "KOR-NET-002", "KOR-NETPOL-005", "KOR-GOV-004"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("rules list lacks %s", id)
		}
	}
	net002 := list[byID["KOR-NET-002"]]
	if !slices.Equal(net002.Aliases, []string{"KOR-NETPOL-002", "KOR-GOV-001"}) || !slices.Contains(net002.Controls, "CIS:5.3.2") ||
		net002.Native == nil || !slices.Equal(net002.Native.Engines, []string{"scan", "netpol-lint", "admission"}) {
		t.Errorf("KOR-NET-002: %+v", net002)
	}
	out, _, code = run(t, "", "rules", "show", "KOR-GOV-001")
	if code != 0 || !strings.Contains(out, "KOR-NET-002") || !strings.Contains(out, "aliases:   KOR-NETPOL-002, KOR-GOV-001") {
		t.Errorf("rules show KOR-GOV-001 (an alias): exit %d\n%s", code, out)
	}
}

// TestNetpolLintPipeline checks that netpol lint reports through the
// shared pipeline: summary and scores as kordon scan has them, exceptions
// files (written for either ID of a check), and exit 2 on broken input.
func TestNetpolLintPipeline(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "app.yaml", netpolFixture)
	out, stderr, code := run(t, "", "netpol", "lint", path, "-o", "json", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Findings []struct {
			RuleID string `json:"ruleID"`
		} `json:"findings"`
		Suppressed []json.RawMessage `json:"suppressed"`
		Scores     []struct {
			Framework string  `json:"framework"`
			Score     float64 `json:"score"`
		} `json:"scores"`
		Summary struct {
			Resources int            `json:"resources"`
			Rules     int            `json:"rules"`
			Findings  int            `json:"findings"`
			BySev     map[string]int `json:"bySeverity"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Rules != 8 || rep.Summary.Findings != len(rep.Findings) || len(rep.Summary.BySev) != 5 {
		t.Errorf("summary: %+v", rep.Summary)
	}
	if !slices.ContainsFunc(rep.Scores, func(s struct {
		Framework string  `json:"framework"`
		Score     float64 `json:"score"`
	}) bool {
		return s.Framework == "CIS"
	}) {
		t.Errorf("no CIS score (CIS 5.3.2 is judged by lint): %+v", rep.Scores)
	}
	before := 0
	for _, f := range rep.Findings {
		if f.RuleID == "KOR-NETPOL-002" {
			before++
		}
	}
	if before == 0 {
		t.Fatal("fixture triggers no KOR-NETPOL-002")
	}
	// The exception names the scan ID of the check; lint reports it under
	// its alias.
	ex := writeFile(t, dir, "exceptions.yaml", "exceptions:\n  - rule: KOR-NET-002\n    reason: isolated by the CNI\n")
	out, stderr, code = run(t, "", "netpol", "lint", path, "-o", "json", "--fail-on", "none", "--exceptions", ex)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep.Findings, rep.Suppressed = nil, nil
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Suppressed) != before || slices.ContainsFunc(rep.Findings, func(f struct {
		RuleID string `json:"ruleID"`
	}) bool {
		return f.RuleID == "KOR-NETPOL-002"
	}) {
		t.Errorf("exception for KOR-NET-002 suppressed %d of %d KOR-NETPOL-002 findings", len(rep.Suppressed), before)
	}
	broken := writeFile(t, dir, "broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
	if _, _, code := run(t, "", "netpol", "lint", path, broken, "--fail-on", "none"); code != 2 {
		t.Errorf("broken YAML: exit %d, want 2 (reported, the rest linted)", code)
	}
}
