package render

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/explain"
)

// queries are the connections asked about in testdata/can.*: source,
// destination and port ("" for none).
var queries = [][3]string{
	{"shop/web", "shop/api", "tcp/8080"},
	{"shop/web", "shop/api", "tcp/80"},
	{"shop/web", "shop/api", ""},
	{"monitoring/prometheus", "shop/api", ""},
	{"shop/api", "shop/db", "tcp/5432"},
	{"203.0.113.7", "shop/web", "tcp/8443"},
	{"10.1.2.3", "shop/web", ""},
	{"shop/db", "8.8.8.8", "udp/53"},
	{"monitoring/prometheus", "8.8.8.8", ""},
	{"shop/web", "monitoring/prometheus", ""},
}

// TestExplanationGolden writes the explanation of every query, each after a
// line "# can SRC DST [--port PORT]".
func TestExplanationGolden(t *testing.T) {
	c := load(t, "shop.yaml")
	for _, format := range ExplanationFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			for _, q := range queries {
				src, err := explain.Resolve(c, q[0])
				if err != nil {
					t.Fatal(err)
				}
				dst, err := explain.Resolve(c, q[1])
				if err != nil {
					t.Fatal(err)
				}
				var port *explain.Port
				fmt.Fprintf(&buf, "# can %s %s", q[0], q[1])
				if q[2] != "" {
					p, err := explain.ParsePort(q[2])
					if err != nil {
						t.Fatal(err)
					}
					port = &p
					fmt.Fprintf(&buf, " --port %s", q[2])
				}
				buf.WriteString("\n")
				if err := WriteExplanation(&buf, format, explain.Explain(c, src, dst, port)); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, filepath.Join("testdata", "can."+format), buf.Bytes())
		})
	}
}

const explainShop = `
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

func TestExplanationText(t *testing.T) {
	c := decode(t, explainShop)
	tests := []struct {
		name     string
		src, dst string
		port     string
		want     []string
	}{
		{"allowed", "shop/web", "shop/api", "tcp/8080", []string{"on TCP/8080: ALLOWED", "restricted by shop/api", "shop/api ingress rule 1 (test.yaml:12) matches, ports: TCP/8080", "no policy selects it for egress"}},
		{"wrong port", "shop/web", "shop/api", "tcp/80", []string{"on TCP/80: DENIED", "allowed ports: TCP/8080"}},
		{"no rule matches", "shop/api", "shop/api", "", []string{"DENIED", "no ingress rule of these policies matches the source"}},
		{"external", "1.2.3.4", "shop/web", "", []string{"ALLOWED", "allowed ports: all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := explain.Resolve(c, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			dst, err := explain.Resolve(c, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			var port *explain.Port
			if tt.port != "" {
				p, err := explain.ParsePort(tt.port)
				if err != nil {
					t.Fatal(err)
				}
				port = &p
			}
			var buf bytes.Buffer
			if err := WriteExplanation(&buf, "txt", explain.Explain(c, src, dst, port)); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}
