package explain

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

// TestAgainstReference checks that the explained ports are exactly those
// the reference allows, port by port.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 2 {
		c := synth.Random(rng, synth.Small{Namespaces: 2, Workloads: 3, Policies: 4})
		parties := []reference.Party{{Addr: netip.MustParseAddr("10.1.2.3")}}
		for i := range c.Workloads {
			parties = append(parties, reference.Party{Workload: &c.Workloads[i]})
		}
		for _, s := range parties {
			for _, d := range parties {
				if s == d || (s.Workload == nil && d.Workload == nil) {
					continue
				}
				got := Explain(c, s, d, nil).Ports
				if want := reference.Ports(c, s, d); !got.Equal(want) {
					t.Errorf("%s -> %s: explained %s, reference %s", partyName(s), partyName(d), got, want)
				}
			}
		}
	}
}

const shop = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {metadata: {labels: {app: api}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
`

// partyName names a party in test messages.
func partyName(p reference.Party) string {
	if p.Workload != nil {
		return p.Workload.ID()
	}
	return p.Addr.String()
}

// TestExplain checks the verdict and the reasons of each side; how they
// are printed is tested in package render.
func TestExplain(t *testing.T) {
	objs, _ := k8s.Decode([]byte(shop), "shop.yaml")
	c, _ := model.FromObjects(objs)
	web, err := Resolve(c, "shop/web")
	if err != nil {
		t.Fatal(err)
	}
	api, _ := Resolve(c, "shop/api")
	external := reference.Party{Addr: netip.MustParseAddr("1.2.3.4")}
	type side struct {
		policies []string
		rules    []string // policy/rule: ports
		ports    string
	}
	tests := []struct {
		name            string
		src, dst        reference.Party
		port            string
		allowed         bool
		ports           string
		egress, ingress side
	}{
		{"allowed", web, api, "tcp/8080", true, "TCP/8080",
			side{ports: "all"}, side{[]string{"shop/api"}, []string{"shop/api/1 (shop.yaml:12): TCP/8080"}, "TCP/8080"}},
		{"wrong port", web, api, "tcp/80", false, "TCP/8080",
			side{ports: "all"}, side{[]string{"shop/api"}, []string{"shop/api/1 (shop.yaml:12): TCP/8080"}, "TCP/8080"}},
		{"no rule matches", api, api, "", false, "none",
			side{ports: "all"}, side{[]string{"shop/api"}, nil, "none"}},
		{"external", external, web, "", true, "all",
			side{ports: "all"}, side{ports: "all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var port *Port
			if tt.port != "" {
				p, err := ParsePort(tt.port)
				if err != nil {
					t.Fatal(err)
				}
				port = &p
			}
			e := Explain(c, tt.src, tt.dst, port)
			if e.Allowed != tt.allowed || e.Ports.String() != tt.ports {
				t.Errorf("allowed %v on %s, want %v on %s", e.Allowed, e.Ports, tt.allowed, tt.ports)
			}
			for _, s := range []struct {
				got  Side
				want side
				dir  model.Direction
				self reference.Party
			}{{e.Egress, tt.egress, model.Egress, tt.src}, {e.Ingress, tt.ingress, model.Ingress, tt.dst}} {
				var rules []string
				for _, r := range s.got.Rules {
					rules = append(rules, fmt.Sprintf("%s/%d (%s): %s", r.Policy, r.Rule, r.Source, r.Ports))
				}
				if s.got.Direction != s.dir || s.got.Endpoint != s.self || s.got.External() != (s.self.Workload == nil) ||
					!slices.Equal(s.got.Policies, s.want.policies) || !slices.Equal(rules, s.want.rules) || s.got.Ports.String() != s.want.ports {
					t.Errorf("%s side = %s of %s, policies %v, rules %v, ports %s; want policies %v, rules %v, ports %s",
						s.dir, s.got.Direction, partyName(s.got.Endpoint), s.got.Policies, rules, s.got.Ports, s.want.policies, s.want.rules, s.want.ports)
				}
			}
		})
	}
	if _, err := Resolve(c, "shop/nope"); err == nil {
		t.Error("Resolve of an unknown workload succeeded")
	}
}
