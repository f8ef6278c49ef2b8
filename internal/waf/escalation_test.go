package waf

import (
	"fmt"
	"testing"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
)

// suspectAt is a screen standing for rules it never proves clean: every
// transaction reaching phase suspect moves to the full rule set there.
type suspectAt struct {
	ids     []int
	suspect int
}

func (s suspectAt) RuleIDs() []int { return s.ids }
func (s suspectAt) Clean(phase int, _ plugintypes.TransactionState) bool {
	return phase != s.suspect
}

// rulePhases maps the ID of every rule cfg loads to its phase.
func rulePhases(t *testing.T, cfg Config) map[int]int {
	t.Helper()
	phases := map[int]int{}
	wc := experimental.WAFConfigWithRuleObserver(coraza.NewWAFConfig().WithRootFS(coreruleset.FS),
		func(r types.RuleMetadata) { phases[r.ID()] = int(r.Phase()) })
	if _, err := coraza.NewWAF(wc.WithDirectives(directives(cfg))); err != nil {
		t.Fatal(err)
	}
	return phases
}

// TestEscalationReplays moves every transaction from the lite rule set
// to the full one at each phase in turn (request headers, request body,
// response headers, response body), with the lite rule set missing that
// phase's detection rules: the replay must give every request of the
// corpus the outcome of the full rule set.
func TestEscalationReplays(t *testing.T) {
	corpus := benignCorpus(t)
	crs, _ := crsCorpus(t, true)
	corpus = append(corpus, crs...)
	for _, mode := range []Mode{ModeDetect, ModeBlock} {
		for phase := 1; phase <= 4; phase++ {
			t.Run(fmt.Sprintf("%s/phase %d", mode, phase), func(t *testing.T) {
				escalateAt(t, corpus, Config{InspectTimeout: 10 * time.Minute, Mode: mode, TestMode: true}, phase)
			})
		}
	}
}

// escalateAt compares, on corpus, the full rule set of cfg with a lite
// one missing the detection rules of phase whose screen moves every
// transaction reaching that phase to the full rule set.
func escalateAt(t *testing.T, corpus []corpusItem, cfg Config, phase int) {
	full, _ := cfg.withDefaults()
	phases := rulePhases(t, full)
	cfg.baseline = true
	base, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for id, p := range phases {
		// Detection rules only: the initialisation (901) and
		// blocking evaluation (949, 959) rules stay.
		if p == phase && id >= 911000 && id < 949000 || p == phase && id >= 950000 && id < 959000 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no detection rule of phase %d", phase)
	}
	c := cfg
	c.baseline = false
	c.screen = suspectAt{ids: ids, suspect: phase}
	lite, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	matched, blocked, _ := compareEngines(t, corpus, lite, base)
	screened, escalated := lite.ScreenStats()
	t.Logf("%d rules left out; %d requests, %d with matched rules, %d blocked; %d of %d escalated", len(ids), len(corpus), matched, blocked, escalated, screened)
	if escalated == 0 {
		t.Error("no transaction moved to the full rule set")
	}
}
