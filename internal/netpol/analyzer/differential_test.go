package analyzer

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

// probePorts returns the ports where the answer can change: every number a
// policy or container names, its neighbours and the ends of the range.
func probePorts(c *model.Cluster) []int32 {
	set := map[int32]bool{1: true, 2: true, 65534: true, 65535: true, 1000: true}
	add := func(ps ...int32) {
		for _, p := range ps {
			for _, q := range []int32{p - 1, p, p + 1} {
				if q >= 1 && q <= 65535 {
					set[q] = true
				}
			}
		}
	}
	for _, w := range c.Workloads {
		for _, p := range w.Ports {
			add(p.Port)
		}
	}
	for _, p := range c.Policies {
		for _, rules := range [][]model.Rule{p.Ingress, p.Egress} {
			for _, r := range rules {
				for _, port := range r.Ports {
					add(port.Port, port.EndPort)
				}
			}
		}
	}
	var out []int32
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// probeAddrs returns the addresses where the answer can change: the ends of
// every ipBlock and their neighbours, and a few ordinary addresses.
func probeAddrs(c *model.Cluster) []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")}
	for _, p := range c.IPBlockPrefixes() {
		first, last := p.Masked().Addr(), iprange.Last(p)
		out = append(out, first, last)
		if a := first.Prev(); a.IsValid() {
			out = append(out, a)
		}
		if a := last.Next(); a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// compare checks the analyzer against the reference on every pair of
// workloads and probe addresses, on every probe port of every protocol,
// and checks that Connections and Count agree with Ports.
func compare(t *testing.T, c *model.Cluster) {
	t.Helper()
	r := Analyze(c, Options{})
	nw := len(c.Workloads)
	type party struct {
		ref reference.Party
		idx int
	}
	var parties []party
	for i := range c.Workloads {
		parties = append(parties, party{reference.Party{Workload: &c.Workloads[i]}, i})
	}
	for _, a := range probeAddrs(c) {
		i, ok := iprange.Index(r.ranges, a)
		if !ok {
			t.Fatalf("address %s in no range", a)
		}
		parties = append(parties, party{reference.Party{Addr: a}, nw + i})
	}
	ports := probePorts(c)
	for _, s := range parties {
		for _, d := range parties {
			if s.idx == d.idx || (s.idx >= nw && d.idx >= nw) {
				continue
			}
			got := r.Ports(s.idx, d.idx)
			for _, proto := range portset.Protocols() {
				for _, port := range ports {
					want := reference.Allowed(c, s.ref, d.ref, proto, port)
					if got.Contains(proto, port) != want {
						t.Fatalf("%s -> %s %s/%d: analyzer %v, reference %v (analyzer ports %s)",
							r.endpoints[s.idx].Name(), r.endpoints[d.idx].Name(), proto, port, !want, want, got)
					}
				}
			}
		}
	}
	conns := r.Connections()
	if n := r.Count(); n != len(conns) {
		t.Fatalf("Count = %d, len(Connections) = %d", n, len(conns))
	}
	byPair := map[[2]int]portset.Set{}
	for _, cn := range conns {
		byPair[[2]int{cn.Src, cn.Dst}] = cn.Ports
	}
	for s := range r.endpoints {
		for d := range r.endpoints {
			if s >= nw && d >= nw {
				continue
			}
			if got, want := byPair[[2]int{s, d}], r.Ports(s, d); !got.Equal(want) {
				t.Fatalf("%s -> %s: Connections says %s, Ports says %s", r.endpoints[s].Name(), r.endpoints[d].Name(), got, want)
			}
		}
	}
}

func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 300 {
		lim := synth.Small{Namespaces: 1 + rng.IntN(3), Workloads: 1 + rng.IntN(8), Policies: rng.IntN(6)}
		c := synth.Random(rng, lim)
		ok := t.Run("", func(t *testing.T) { compare(t, c) })
		if !ok {
			t.Fatalf("case %d failed (limits %+v)", i, lim)
		}
	}
}

// TestFullPorts compares every one of the 3 × 65,535 ports on a few small
// clusters, without relying on probe ports.
func TestFullPorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for range 2 {
		c := synth.Random(rng, synth.Small{Namespaces: 2, Workloads: 3, Policies: 4})
		r := Analyze(c, Options{})
		for s := range c.Workloads {
			for d := range c.Workloads {
				if s == d {
					continue
				}
				want := reference.Ports(c, reference.Party{Workload: &c.Workloads[s]}, reference.Party{Workload: &c.Workloads[d]})
				if got := r.Ports(s, d); !got.Equal(want) {
					t.Errorf("%s -> %s: analyzer %s, reference %s", c.Workloads[s].ID(), c.Workloads[d].ID(), got, want)
				}
			}
		}
	}
}

func FuzzAnalyzer(f *testing.F) {
	f.Add([]byte{3, 5, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{1, 2, 2, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := synth.NewBytes(data)
		lim := synth.Small{Namespaces: 1 + src.IntN(3), Workloads: 1 + src.IntN(6), Policies: src.IntN(5)}
		compare(t, synth.Random(src, lim))
	})
}
