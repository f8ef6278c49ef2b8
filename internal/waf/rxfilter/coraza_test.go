package rxfilter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3"
)

// TestCorazaDifferential runs the CRS @rx operators in the real Coraza
// (each as its own rule on one argument) on regression payloads: Coraza's
// verdict must equal regexp's on "(?sm)"+ARG (how Coraza compiles @rx), and
// whenever Coraza matches, the value must contain a required literal.
func TestCorazaDifferential(t *testing.T) {
	rules, _, payloads := loadCRS(t)
	var b strings.Builder
	type probe struct {
		lits []string
		rule crsRule
	}
	probes := map[int]probe{}
	for i, rule := range rules {
		lits, ok, err := Required(rule.Pattern)
		if err != nil || !ok {
			continue
		}
		id := 100000 + i
		probes[id] = probe{lits, rule}
		arg := strings.ReplaceAll(strings.TrimPrefix(rule.Pattern, "(?sm)"), `"`, `\"`)
		fmt.Fprintf(&b, "SecRule ARGS_GET:v \"@rx %s\" \"id:%d,phase:1,pass,log,t:none\"\n", arg, id)
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(b.String()))
	if err != nil {
		t.Fatalf("coraza: %v", err)
	}
	step := 3 * len(payloads) / sample(len(payloads))
	tried, matches := 0, 0
	for i := 0; i < len(payloads); i += step {
		p := payloads[i]
		tx := waf.NewTransaction()
		tx.AddGetRequestArgument("v", p)
		tx.ProcessRequestHeaders()
		got := map[int]bool{}
		for _, mr := range tx.MatchedRules() {
			got[mr.Rule().ID()] = true
		}
		_ = tx.Close()
		tried++
		for id, pr := range probes {
			want := mustCompile(pr.rule.Pattern).MatchString(p)
			if got[id] != want {
				t.Errorf("rule %s on %q: Coraza matched = %v, regexp %v", pr.rule.ID, p, got[id], want)
			}
			if got[id] {
				matches++
				if !containsAny(p, pr.lits) {
					t.Errorf("UNSOUND: Coraza's rule %s matches %q, which contains none of %q", pr.rule.ID, p, pr.lits)
				}
			}
		}
	}
	t.Logf("%d operators in Coraza, %d payloads, %d matches, each with a literal", len(probes), tried, matches)
	if matches < sample(1000) {
		t.Errorf("only %d matches", matches)
	}
}
