package synth

import (
	"math/rand/v2"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// check fails when a generated cluster holds something the API server
// would reject, so that tests and benchmarks run on valid input.
func check(t *testing.T, c *model.Cluster) {
	t.Helper()
	for _, p := range c.Policies {
		if err := p.PodSelector.Validate(); err != nil {
			t.Fatalf("policy %s: %v", p.ID(), err)
		}
		for _, rules := range [][]model.Rule{p.Ingress, p.Egress} {
			for _, r := range rules {
				for _, peer := range r.Peers {
					n := 0
					if peer.IPBlock != nil {
						n++
						for _, e := range peer.IPBlock.Except {
							if !peer.IPBlock.CIDR.Contains(e.Addr()) || e.Bits() <= peer.IPBlock.CIDR.Bits() {
								t.Fatalf("policy %s: except %s not within %s", p.ID(), e, peer.IPBlock.CIDR)
							}
						}
					}
					if peer.PodSelector != nil || peer.NamespaceSelector != nil {
						n++
					}
					if n != 1 {
						t.Fatalf("policy %s: invalid peer %+v", p.ID(), peer)
					}
				}
				for _, port := range r.Ports {
					if port.EndPort != 0 && (port.Name != "" || port.EndPort < port.Port || port.Port == 0) {
						t.Fatalf("policy %s: invalid port %+v", p.ID(), port)
					}
				}
			}
		}
	}
	for _, ns := range c.Namespaces {
		if ns.Labels[model.MetadataNameLabel] != ns.Name {
			t.Fatalf("namespace %s lacks its name label", ns.Name)
		}
	}
}

func TestRandomIsValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		check(t, Random(rng, Small{Namespaces: 3, Workloads: 6, Policies: 5}))
	}
	check(t, Random(NewBytes(nil), Small{Workloads: 2, Policies: 2}))
}

func TestScaled(t *testing.T) {
	c := Scaled(rand.New(rand.NewPCG(1, 2)), 200, 150)
	check(t, c)
	if len(c.Workloads) != 200 || len(c.Policies) != 150 {
		t.Errorf("got %d workloads and %d policies, want 200 and 150", len(c.Workloads), len(c.Policies))
	}
}
