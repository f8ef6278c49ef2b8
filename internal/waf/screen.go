package waf

import (
	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/kordon-dev/kordon/internal/waf/screen"
)

// Screen stands for a set of CRS rules that the engine leaves out of its
// lite rule set. After each phase of a transaction on the lite rule set
// the engine asks the screen whether any of those rules could have
// matched; when the screen cannot prove that none could, the
// transaction moves to the full rule set, which replays the phases so far.
//
// A rule that does not match has no effect on a Coraza transaction (its
// actions run only when it matches), so leaving out rules that cannot
// match gives the verdict of the full rule set: the screen must never
// report clean when one of its rules would match.
type Screen interface {
	// RuleIDs are the rules the screen stands for.
	RuleIDs() []int
	// Clean reports whether none of the rules of phase (1–4) the screen
	// stands for can match the transaction in its state after that
	// phase.
	Clean(phase int, tx plugintypes.TransactionState) bool
}

// newScreen builds the screen of an engine with configuration cfg from
// its compiled rules: the rules of its detection paranoia level (4 with
// CRS's regression-test settings).
func newScreen(cfg Config, compiled []types.RuleMetadata) (Screen, error) {
	rules := make([]screen.Rule, 0, len(compiled))
	for _, md := range compiled {
		r, err := screen.Read(md)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	pl := cfg.Paranoia
	if cfg.TestMode {
		pl = 4
	}
	return screen.New(rules, pl, coreruleset.FS)
}
