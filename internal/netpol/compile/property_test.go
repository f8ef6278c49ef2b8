package compile

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

var (
	propBlocks = []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "fd00::/8"}
	propPorts  = []string{"tcp/80", "tcp/8000-8100", "udp", "udp/53", "tcp/http", "udp/dns", "sctp/9"}
)

// randomCase returns a cluster (namespaces and workloads, no policies) and
// an intent over it whose zones declare their namespaces' true labels.
func randomCase(rng *rand.Rand) (*model.Cluster, *Intent) {
	c := &model.Cluster{}
	nsCount := 1 + rng.IntN(3)
	for i := range nsCount {
		labels := map[string]string{}
		if rng.IntN(2) == 0 {
			labels["team"] = []string{"a", "b"}[rng.IntN(2)]
		}
		c.Namespaces = append(c.Namespaces, model.Namespace{Name: fmt.Sprintf("n%d", i), Labels: labels})
	}
	for i := range 1 + rng.IntN(7) {
		w := model.Workload{Namespace: fmt.Sprintf("n%d", rng.IntN(nsCount)), Name: fmt.Sprintf("w%d", i), Kind: "Deployment", Labels: map[string]string{}}
		if rng.IntN(3) > 0 {
			w.Labels["app"] = []string{"a", "b", "c"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			w.Labels["tier"] = []string{"x", "y"}[rng.IntN(2)]
		}
		for range rng.IntN(3) {
			w.Ports = append(w.Ports, model.ContainerPort{
				Name:     []string{"http", "dns"}[rng.IntN(2)],
				Protocol: portset.Protocol(rng.IntN(2)),
				Port:     []int32{53, 80, 8080, 8100}[rng.IntN(4)],
			})
		}
		c.Workloads = append(c.Workloads, w)
	}
	c.Normalize()
	in := &Intent{APIVersion: APIVersion, Kind: Kind, Groups: map[string]Group{}}
	in.Metadata.Name = "p"
	var groupNames []string
	for i := range 1 + rng.IntN(4) {
		name := fmt.Sprintf("g%d", i)
		groupNames = append(groupNames, name)
		var g Group
		if rng.IntN(4) == 0 {
			g.CIDRs = []string{propBlocks[rng.IntN(len(propBlocks))]}
			if rng.IntN(2) == 0 {
				g.CIDRs = append(g.CIDRs, propBlocks[rng.IntN(len(propBlocks))])
			}
			for _, e := range propBlocks[1:] {
				if rng.IntN(4) == 0 {
					g.Except = append(g.Except, e)
				}
			}
		} else {
			for n := range nsCount {
				if rng.IntN(3) == 0 {
					g.Namespaces = append(g.Namespaces, fmt.Sprintf("n%d", n))
				}
			}
			if rng.IntN(3) == 0 {
				g.NamespaceLabels = map[string]string{"team": []string{"a", "b"}[rng.IntN(2)]}
			}
			if rng.IntN(2) == 0 {
				g.Labels = map[string]string{"app": []string{"a", "b", "c"}[rng.IntN(3)]}
			}
		}
		in.Groups[name] = g
	}
	for _, ns := range c.Namespaces {
		if rng.IntN(3) == 0 {
			continue
		}
		z := Zone{Namespaces: []string{ns.Name}, NamespaceLabels: map[string]string{}}
		for k, v := range ns.Labels {
			z.NamespaceLabels[k] = v
		}
		switch rng.IntN(3) {
		case 0:
			z.Deny = []string{"ingress"}
		case 1:
			z.Deny = []string{"egress"}
		}
		in.Zones = append(in.Zones, z)
	}
	pick := func() Names {
		n := Names{groupNames[rng.IntN(len(groupNames))]}
		if rng.IntN(3) == 0 {
			n = append(n, groupNames[rng.IntN(len(groupNames))])
		}
		return n
	}
	for range rng.IntN(5) {
		r := Rule{From: pick(), To: pick()}
		for range rng.IntN(3) {
			r.Ports = append(r.Ports, propPorts[rng.IntN(len(propPorts))])
		}
		in.Rules = append(in.Rules, r)
	}
	return c, in
}

// TestCompiledAllowsExactlyTheIntent is the property test: for random
// clusters and intents, the analyzer's verdict on the compiled policies
// equals Intent.Allows for every pair of workloads and probe addresses on
// every probe port.
func TestCompiledAllowsExactlyTheIntent(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 4242))
	probePorts := []int32{1, 52, 53, 54, 79, 80, 81, 7999, 8000, 8080, 8100, 8101, 9, 65535}
	for iter := range 300 {
		c, in := randomCase(rng)
		if err := in.validate(); err != nil {
			t.Fatalf("case %d: generated intent invalid: %v", iter, err)
		}
		compiled, err := Compile(in, Options{})
		if err != nil {
			t.Fatalf("case %d: %v", iter, err)
		}
		data, err := Marshal(compiled.Policies)
		if err != nil {
			t.Fatal(err)
		}
		decoded, errs := k8s.Decode(data, "compiled.yaml")
		if len(errs) > 0 {
			t.Fatalf("case %d: compiled YAML does not decode: %v", iter, errs[0])
		}
		pc, problems := model.FromObjects(decoded)
		if len(problems) > 0 {
			t.Fatalf("case %d: compiled policy rejected: %v\n%s", iter, problems[0], data)
		}
		c.Policies = pc.Policies
		c.Normalize()
		r := analyzer.Analyze(c, analyzer.Options{ExtraPrefixes: in.Prefixes()})
		nw := len(c.Workloads)
		type end struct {
			m   Member
			idx int
		}
		var ends []end
		for i := range c.Workloads {
			ends = append(ends, end{Pod(&c.Workloads[i], c.NamespaceLabels(c.Workloads[i].Namespace)), i})
		}
		addrs := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("fd00::1")}
		for _, p := range in.Prefixes() {
			addrs = append(addrs, p.Addr(), iprange.Last(p))
			if a := p.Addr().Prev(); a.IsValid() {
				addrs = append(addrs, a)
			}
		}
		for _, a := range addrs {
			idx := -1
			for k, e := range r.Ranges() {
				if e.Range.Contains(a) {
					idx = nw + k
				}
			}
			if idx < 0 {
				continue // IPv6 with no IPv6 block anywhere: no range to compare
			}
			ends = append(ends, end{Address(a), idx})
		}
		for _, s := range ends {
			for _, d := range ends {
				if s.idx == d.idx || (s.m.Workload == nil && d.m.Workload == nil) {
					continue
				}
				got := r.Ports(s.idx, d.idx)
				for _, proto := range portset.Protocols() {
					for _, port := range probePorts {
						want := in.Allows(s.m, d.m, proto, port)
						if got.Contains(proto, port) != want {
							t.Fatalf("case %d: %s -> %s %s/%d: compiled policies say %v, intent says %v\nintent: %+v\npolicies:\n%s",
								iter, name(s.m), name(d.m), proto, port, !want, want, in, data)
						}
					}
				}
			}
		}
	}
}

func name(m Member) string {
	if m.Workload != nil {
		return m.Workload.ID() + fmt.Sprint(m.Workload.Labels)
	}
	return m.Addr.String()
}
