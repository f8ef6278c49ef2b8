package synth

import (
	"fmt"
	"net/netip"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Source supplies random numbers: IntN returns a number in [0, n).
// *math/rand/v2.Rand is a Source.
type Source interface {
	IntN(n int) int
}

// Bytes is a Source that reads its numbers from a byte string, as a fuzzer
// provides; once the bytes run out every draw is 0.
type Bytes struct {
	data []byte
	pos  int
}

// NewBytes returns a Source reading from data.
func NewBytes(data []byte) *Bytes { return &Bytes{data: data} }

// IntN returns the next byte modulo n.
func (b *Bytes) IntN(n int) int {
	if b.pos >= len(b.data) || n <= 1 {
		return 0
	}
	v := int(b.data[b.pos])
	b.pos++
	return v % n
}

// Small limits a small adversarial cluster.
type Small struct {
	Namespaces, Workloads, Policies int
}

// Interesting address blocks: nested, overlapping, IPv4 and IPv6.
var blocks = []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "172.16.0.0/12", "fd00::/8", "fd00:1::/32"}

var (
	labelKeys   = []string{"app", "tier", "role"}
	labelValues = []string{"a", "b", "c"}
	nsKeys      = []string{"env", "team"}
	portNames   = []string{"http", "dns", "metrics"}
	portNumbers = []int32{53, 80, 443, 8080, 65535, 1}
)

// Random returns a small cluster drawn from src, built to hit corner cases:
// few label values (so selectors overlap), named ports that resolve on some
// workloads only, nested ipBlocks with exceptions, every policyTypes form.
func Random(src Source, lim Small) *model.Cluster {
	c := &model.Cluster{}
	for i := range max(lim.Namespaces, 1) {
		c.Namespaces = append(c.Namespaces, model.Namespace{Name: fmt.Sprintf("ns%d", i), Labels: randLabels(src, nsKeys)})
	}
	for i := range lim.Workloads {
		w := model.Workload{
			Namespace: c.Namespaces[src.IntN(len(c.Namespaces))].Name,
			Name:      fmt.Sprintf("w%d", i),
			Kind:      "Deployment",
			Labels:    randLabels(src, labelKeys),
		}
		for range src.IntN(3) {
			w.Ports = append(w.Ports, model.ContainerPort{
				Name:     portNames[src.IntN(len(portNames))],
				Protocol: portset.Protocol(src.IntN(3)),
				Port:     portNumbers[src.IntN(len(portNumbers))],
			})
		}
		c.Workloads = append(c.Workloads, w)
	}
	for i := range lim.Policies {
		p := model.Policy{
			Namespace:   c.Namespaces[src.IntN(len(c.Namespaces))].Name,
			Name:        fmt.Sprintf("p%d", i),
			PodSelector: randSelector(src, labelKeys),
		}
		p.Ingress = randRules(src)
		p.Egress = randRules(src)
		switch src.IntN(4) {
		case 0: // policyTypes absent: the API defaults
			p.AffectsIngress, p.AffectsEgress = true, len(p.Egress) > 0
		case 1:
			p.AffectsIngress = true
		case 2:
			p.AffectsEgress = true
		default:
			p.AffectsIngress, p.AffectsEgress = true, true
		}
		c.Policies = append(c.Policies, p)
	}
	c.Normalize()
	return c
}

func randLabels(src Source, keys []string) map[string]string {
	l := map[string]string{}
	for _, k := range keys {
		if src.IntN(3) > 0 {
			l[k] = labelValues[src.IntN(len(labelValues))]
		}
	}
	return l
}

func randSelector(src Source, keys []string) model.Selector {
	var s model.Selector
	if src.IntN(2) == 0 {
		s.MatchLabels = map[string]string{keys[src.IntN(len(keys))]: labelValues[src.IntN(len(labelValues))]}
	}
	if src.IntN(3) == 0 {
		ops := []model.Operator{model.OpIn, model.OpNotIn, model.OpExists, model.OpDoesNotExist}
		r := model.Requirement{Key: keys[src.IntN(len(keys))], Operator: ops[src.IntN(len(ops))]}
		if r.Operator == model.OpIn || r.Operator == model.OpNotIn {
			r.Values = []string{labelValues[src.IntN(len(labelValues))]}
			if src.IntN(2) == 0 {
				r.Values = append(r.Values, labelValues[src.IntN(len(labelValues))])
			}
		}
		s.MatchExpressions = append(s.MatchExpressions, r)
	}
	return s
}

func randRules(src Source) []model.Rule {
	n := src.IntN(4) // 0 rules, or 1–3
	var rules []model.Rule
	for range n {
		var r model.Rule
		for range src.IntN(3) {
			r.Peers = append(r.Peers, randPeer(src))
		}
		for range src.IntN(3) {
			r.Ports = append(r.Ports, randPort(src))
		}
		rules = append(rules, r)
	}
	return rules
}

func randPeer(src Source) model.Peer {
	switch src.IntN(4) {
	case 0:
		s := randSelector(src, labelKeys)
		return model.Peer{PodSelector: &s}
	case 1:
		s := randSelector(src, nsKeys)
		return model.Peer{NamespaceSelector: &s}
	case 2:
		ps, ns := randSelector(src, labelKeys), randSelector(src, nsKeys)
		return model.Peer{PodSelector: &ps, NamespaceSelector: &ns}
	}
	cidr := netip.MustParsePrefix(blocks[src.IntN(len(blocks))])
	b := &model.IPBlock{CIDR: cidr}
	for _, e := range blocks {
		ep := netip.MustParsePrefix(e)
		if ep.Addr().Is4() == cidr.Addr().Is4() && ep.Bits() > cidr.Bits() && cidr.Contains(ep.Addr()) && src.IntN(3) == 0 {
			b.Except = append(b.Except, ep)
		}
	}
	return model.Peer{IPBlock: b}
}

func randPort(src Source) model.Port {
	p := model.Port{Protocol: portset.Protocol(src.IntN(3))}
	switch src.IntN(4) {
	case 0: // whole protocol
	case 1:
		p.Port = portNumbers[src.IntN(len(portNumbers))]
	case 2:
		p.Port = portNumbers[src.IntN(len(portNumbers))]
		p.EndPort = min(p.Port+int32(src.IntN(100)), portset.MaxPort)
	default:
		p.Name = portNames[src.IntN(len(portNames))]
	}
	return p
}
