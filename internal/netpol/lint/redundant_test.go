package lint

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

// TestRemovingRedundantRulesKeepsConnectivity is a property test: deleting
// every rule KOR-NETPOL-005 reports must leave the analysed connectivity
// exactly as it was.
func TestRemovingRedundantRulesKeepsConnectivity(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	reported := 0
	for iter := range 300 {
		c := synth.Random(rng, synth.Small{Namespaces: 2, Workloads: 5, Policies: 5})
		l, err := run(builtinCatalogue(t), c)
		if err != nil {
			t.Fatal(err)
		}
		refs := l.redundantRules
		if len(refs) == 0 {
			continue
		}
		reported += len(refs)
		pruned := &model.Cluster{Namespaces: c.Namespaces, Workloads: c.Workloads, Policies: slices.Clone(c.Policies)}
		for pi := range pruned.Policies {
			p := &pruned.Policies[pi]
			p.Ingress = keep(p.Ingress, refs, pi, model.Ingress)
			p.Egress = keep(p.Egress, refs, pi, model.Egress)
		}
		// Removing the last egress rule of a policy without explicit
		// policyTypes would not change AffectsEgress here: the model keeps
		// the types as read, so the comparison is of rules alone.
		opts := analyzer.Options{ExtraPrefixes: c.IPBlockPrefixes()}
		before, after := analyzer.Analyze(c, opts), analyzer.Analyze(pruned, opts)
		if len(before.Endpoints()) != len(after.Endpoints()) {
			t.Fatalf("case %d: endpoints differ", iter)
		}
		for s := range before.Endpoints() {
			for d := range before.Endpoints() {
				if b, a := before.Ports(s, d), after.Ports(s, d); !b.Equal(a) {
					t.Fatalf("case %d: removing rules %v changed %s -> %s from %s to %s",
						iter, refs, before.Endpoints()[s].Name(), before.Endpoints()[d].Name(), b, a)
				}
			}
		}
	}
	if reported == 0 {
		t.Fatal("no redundant rule in 300 random clusters: the test checks nothing")
	}
}

func keep(rules []model.Rule, refs []ruleRef, pi int, d model.Direction) []model.Rule {
	var out []model.Rule
	for ri, r := range rules {
		if !slices.Contains(refs, ruleRef{pi, d, ri}) {
			out = append(out, r)
		}
	}
	return out
}
