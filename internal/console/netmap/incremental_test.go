package netmap

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// TestIncrementalDiffIsExact compares the incremental diff with the full
// diff on generated inventories changed in every way a preview can change
// them: policies removed, added, replaced; selectors that select every pod
// of a namespace, one workload or none; isolation switched on and off for
// a direction; namespaceSelectors over every namespace; ipBlocks with new
// prefixes (which cut the address ranges anew); named and ranged ports.
// The results must be identical, change for change.
func TestIncrementalDiffIsExact(t *testing.T) {
	nonEmpty := 0
	for seed := range uint64(24) {
		old := cluster(t, 300+int(seed%4)*150)
		rng := rand.New(rand.NewPCG(seed, 99))
		// Each round changes the previous round's result, so that the old
		// configuration too may hold policies added by hand, duplicates…
		for round := range 3 {
			name := fmt.Sprintf("seed %d round %d", seed, round)
			if round > 0 {
				old = mutate(rng, old, 1+rng.IntN(3))
			}
			new := mutate(rng, old, 1+rng.IntN(4))
			full := diff.Diff(old, new)
			got := incrementalDiff(old, new)
			if len(full) > 0 {
				nonEmpty++
			}
			if !reflect.DeepEqual(got, full) {
				t.Fatalf("%s: incremental diff has %d changes, full diff %d\nfirst incremental: %v\nfirst full: %v",
					name, len(got), len(full), first(got), first(full))
			}
		}
	}
	// The mutations must move connectivity most of the time, or the test
	// compares empty lists.
	if nonEmpty < 30 {
		t.Errorf("only %d of 72 mutations changed connectivity", nonEmpty)
	}
}

// TestIncrementalDiffDuplicateIDs removes the first of two policies of the
// same namespace and name: the one removed lets anything reach a workload
// on ports 8000-8100 only, the one kept selects nothing.
func TestIncrementalDiffDuplicateIDs(t *testing.T) {
	c := cluster(t, 300)
	w := c.Workloads[0]
	ports := model.Policy{Namespace: w.Namespace, Name: "twice", PodSelector: model.Selector{MatchLabels: w.Labels}, AffectsIngress: true,
		Ingress: []model.Rule{{Ports: []model.Port{{Protocol: portset.TCP, Port: 8000, EndPort: 8100}}}}}
	none := model.Policy{Namespace: w.Namespace, Name: "twice", PodSelector: model.Selector{MatchLabels: map[string]string{"kordon.test/none": "x"}}, AffectsIngress: true}
	old := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Workloads: c.Workloads, Policies: append(slices.Clone(c.Policies), ports, none)}
	old.Normalize()
	new := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Workloads: c.Workloads, Policies: append(slices.Clone(c.Policies), none)}
	new.Normalize()
	full := diff.Diff(old, new)
	if len(full) == 0 {
		t.Fatal("removing the policy changes nothing: the test checks nothing")
	}
	if got := incrementalDiff(old, new); !reflect.DeepEqual(got, full) {
		t.Errorf("incremental diff has %d changes, full diff %d", len(got), len(full))
	}
}

func first(cs []diff.Change) any {
	if len(cs) == 0 {
		return nil
	}
	return cs[0]
}

// mutate returns a copy of c with n random policy edits.
func mutate(rng *rand.Rand, c *model.Cluster, n int) *model.Cluster {
	out := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Workloads: c.Workloads, Policies: slices.Clone(c.Policies)}
	for range n {
		w := c.Workloads[rng.IntN(len(c.Workloads))]
		switch rng.IntN(11) {
		case 0: // remove a policy
			if len(out.Policies) > 0 {
				i := rng.IntN(len(out.Policies))
				out.Policies = slices.Delete(out.Policies, i, i+1)
			}
		case 1: // deny all in both directions for one namespace
			out.Policies = append(out.Policies, model.Policy{Namespace: w.Namespace, Name: fmt.Sprintf("deny-%d", rng.IntN(1000)),
				AffectsIngress: true, AffectsEgress: true})
		case 2: // a policy that selects nothing
			out.Policies = append(out.Policies, model.Policy{Namespace: w.Namespace, Name: fmt.Sprintf("none-%d", rng.IntN(1000)),
				PodSelector: model.Selector{MatchLabels: map[string]string{"kordon.test/none": "x"}}, AffectsIngress: true, AffectsEgress: true})
		case 3: // switch isolation of a direction on or off for an existing policy
			if len(out.Policies) > 0 {
				i := rng.IntN(len(out.Policies))
				p := out.Policies[i]
				if rng.IntN(2) == 0 {
					p.AffectsEgress = !p.AffectsEgress
				} else {
					p.AffectsIngress = !p.AffectsIngress
				}
				out.Policies[i] = p
			}
		case 4: // ingress to one workload from every namespace, on a port range
			out.Policies = append(out.Policies, model.Policy{Namespace: w.Namespace, Name: fmt.Sprintf("from-all-%d", rng.IntN(1000)),
				PodSelector: model.Selector{MatchLabels: w.Labels}, AffectsIngress: true,
				Ingress: []model.Rule{{Peers: []model.Peer{{NamespaceSelector: &model.Selector{}}},
					Ports: []model.Port{{Protocol: portset.TCP, Port: 8000, EndPort: 8100}}}}})
		case 5: // egress from a namespace to an address block with a new prefix
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), 0, 0}), 16)
			out.Policies = append(out.Policies, model.Policy{Namespace: w.Namespace, Name: fmt.Sprintf("cidr-%d", rng.IntN(1000)),
				AffectsEgress: true,
				Egress:        []model.Rule{{Peers: []model.Peer{{IPBlock: &model.IPBlock{CIDR: pfx}}}}}})
		case 6: // replace a policy's rules by a named port from the same namespace
			if len(out.Policies) > 0 {
				i := rng.IntN(len(out.Policies))
				p := out.Policies[i]
				p.AffectsIngress = true
				p.Ingress = []model.Rule{{Peers: []model.Peer{{PodSelector: &model.Selector{}}},
					Ports: []model.Port{{Protocol: portset.TCP, Name: "http"}}}}
				out.Policies[i] = p
			}
		case 7: // widen a policy's selector to the whole namespace
			if len(out.Policies) > 0 {
				i := rng.IntN(len(out.Policies))
				p := out.Policies[i]
				p.PodSelector = model.Selector{}
				out.Policies[i] = p
			}
		case 9: // a policy in a namespace the inventory lacks (Normalize adds it, empty)
			out.Policies = append(out.Policies, model.Policy{Namespace: fmt.Sprintf("new-%d", rng.IntN(3)), Name: "allow-all",
				AffectsIngress: true, AffectsEgress: true,
				Ingress: []model.Rule{{Peers: []model.Peer{{NamespaceSelector: &model.Selector{}}}}},
				Egress:  []model.Rule{{}}})
		case 10: // a second policy of the same namespace and name, denying ingress
			if len(out.Policies) > 0 {
				p := out.Policies[rng.IntN(len(out.Policies))]
				p.Ingress, p.AffectsIngress = nil, true
				out.Policies = append(out.Policies, p)
			}
		case 8: // egress from one workload to labelled pods in labelled namespaces
			ns := c.Namespaces[rng.IntN(len(c.Namespaces))]
			out.Policies = append(out.Policies, model.Policy{Namespace: w.Namespace, Name: fmt.Sprintf("to-ns-%d", rng.IntN(1000)),
				PodSelector: model.Selector{MatchLabels: w.Labels}, AffectsEgress: true,
				Egress: []model.Rule{{Peers: []model.Peer{{NamespaceSelector: &model.Selector{MatchLabels: ns.Labels},
					PodSelector: &model.Selector{MatchExpressions: []model.Requirement{{Key: "app", Operator: model.OpExists}}}}}}}})
		}
	}
	out.Normalize()
	return out
}

// BenchmarkPreviewDiff2000Workloads compares the two diffs behind a
// preview on the 2,000-workload inventory, for an intent-sized change:
// one namespace zoned (deny all, then one allow rule).
func BenchmarkPreviewDiff2000Workloads(b *testing.B) {
	old := cluster(b, 7000)
	ns := old.Workloads[0].Namespace
	new := &model.Cluster{Namespaces: old.Namespaces, Workloads: old.Workloads, Policies: slices.Clone(old.Policies)}
	new.Policies = append(new.Policies,
		model.Policy{Namespace: ns, Name: "zone-deny", AffectsIngress: true, AffectsEgress: true},
		model.Policy{Namespace: ns, Name: "zone-allow", AffectsIngress: true,
			Ingress: []model.Rule{{Peers: []model.Peer{{PodSelector: &model.Selector{}}}, Ports: []model.Port{{Protocol: portset.TCP, Port: 8080}}}}})
	new.Normalize()
	b.Logf("%d workloads, %d policies, %d changes", len(old.Workloads), len(old.Policies), len(incrementalDiff(old, new)))
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			diff.Diff(old, new)
		}
	})
	b.Run("incremental", func(b *testing.B) {
		for b.Loop() {
			incrementalDiff(old, new)
		}
	})
}
