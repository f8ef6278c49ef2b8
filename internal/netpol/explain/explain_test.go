package explain

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strings"
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
					t.Errorf("%s -> %s: explained %s, reference %s", Name(s), Name(d), got, want)
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

func TestExplainText(t *testing.T) {
	objs, _ := k8s.Decode([]byte(shop), "shop.yaml")
	c, _ := model.FromObjects(objs)
	web, err := Resolve(c, "shop/web")
	if err != nil {
		t.Fatal(err)
	}
	api, _ := Resolve(c, "shop/api")
	tests := []struct {
		name     string
		src, dst reference.Party
		port     string
		want     []string
	}{
		{"allowed", web, api, "tcp/8080", []string{"on TCP/8080: ALLOWED", "restricted by shop/api", "shop/api ingress rule 1 (shop.yaml:12) matches, ports: TCP/8080", "no policy selects it for egress"}},
		{"wrong port", web, api, "tcp/80", []string{"on TCP/80: DENIED", "allowed ports: TCP/8080"}},
		{"no rule matches", api, api, "", []string{"DENIED", "no ingress rule of these policies matches the source"}},
		{"external", reference.Party{Addr: netip.MustParseAddr("1.2.3.4")}, web, "", []string{"ALLOWED", "allowed ports: all"}},
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
			var buf bytes.Buffer
			if err := WriteText(&buf, Explain(c, tt.src, tt.dst, port)); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
	if _, err := Resolve(c, "shop/nope"); err == nil {
		t.Error("Resolve of an unknown workload succeeded")
	}
}
