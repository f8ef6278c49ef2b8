package reference

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// check is one connection and the expected verdict. src and dst are
// namespace/name of a workload in testdata/cluster.yaml, or an address.
type check struct {
	src, dst, port string
	want           bool
}

func policy(ns, name, spec string) string {
	meta := "name: " + name
	if ns != "" {
		meta += ", namespace: " + ns
	}
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {" + meta + "}\nspec:\n" + indent(spec) + "\n---\n"
}

func indent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func loadCluster(t *testing.T, policies string) *model.Cluster {
	t.Helper()
	base, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := k8s.Decode(append(append(base, "\n---\n"...), policies...), "test.yaml")
	if len(errs) > 0 {
		t.Fatalf("decode: %v", errs[0])
	}
	c, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		t.Fatalf("model problems: %v", problems)
	}
	return c
}

func party(t *testing.T, c *model.Cluster, s string) Party {
	t.Helper()
	if a, err := netip.ParseAddr(s); err == nil {
		return Party{Addr: a}
	}
	w := c.Workload(s)
	if w == nil {
		t.Fatalf("no workload %s", s)
	}
	return Party{Workload: w}
}

// TestSemantics walks the corners of the NetworkPolicy API reference.
func TestSemantics(t *testing.T) {
	tests := []struct {
		name     string
		policies string
		checks   []check
	}{
		{
			name: "no policies allow everything",
			checks: []check{
				{"prod/web", "prod/api", "tcp/1", true},
				{"dev/tool", "prod/db", "udp/9", true},
				{"8.8.8.8", "prod/db", "sctp/65535", true},
				{"prod/db", "1.1.1.1", "tcp/443", true},
			},
		},
		{
			name:     "default deny ingress with ingress absent",
			policies: policy("prod", "deny", "podSelector: {}"),
			checks: []check{
				{"prod/web", "prod/api", "tcp/9000", false},
				{"8.8.8.8", "prod/api", "tcp/9000", false},
				{"prod/api", "8.8.8.8", "tcp/443", true},
				{"prod/api", "dev/web", "tcp/3000", true},
			},
		},
		{
			name:     "empty ingress list is the same as absent",
			policies: policy("prod", "deny", "podSelector: {}\ningress: []"),
			checks:   []check{{"prod/web", "prod/api", "tcp/9000", false}, {"dev/tool", "prod/db", "udp/53", false}},
		},
		{
			name:     "one empty ingress rule allows everything",
			policies: policy("prod", "deny", "podSelector: {}\ningress: []") + policy("prod", "all", "podSelector: {}\ningress: [{}]"),
			checks:   []check{{"prod/web", "prod/api", "tcp/9000", true}, {"8.8.8.8", "prod/db", "sctp/1", true}},
		},
		{
			name:     "empty from list means every source on the listed ports",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: []\n  ports: [{port: 9000}]"),
			checks: []check{
				{"dev/tool", "prod/api", "tcp/9000", true},
				{"9.9.9.9", "prod/api", "tcp/9000", true},
				{"dev/tool", "prod/api", "tcp/9001", false},
				{"dev/tool", "prod/web", "tcp/1", true},
			},
		},
		{
			name:     "policyTypes default to Ingress plus Egress when egress rules exist",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\negress:\n- to: [{podSelector: {matchLabels: {app: api}}}]"),
			checks: []check{
				{"prod/api", "prod/web", "tcp/8080", false},
				{"prod/web", "prod/api", "tcp/9000", true},
				{"prod/web", "prod/db", "tcp/5432", false},
				{"prod/web", "8.8.8.8", "udp/53", false},
			},
		},
		{
			name:     "empty egress list without policyTypes affects ingress only",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\negress: []"),
			checks:   []check{{"prod/web", "8.8.8.8", "tcp/443", true}, {"prod/api", "prod/web", "tcp/8080", false}},
		},
		{
			name:     "rules of a type missing from policyTypes are ignored",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\ningress: [{}]\negress:\n- to: [{ipBlock: {cidr: 10.0.0.0/8}}]"),
			checks: []check{
				{"prod/api", "prod/web", "tcp/8080", true},
				{"prod/web", "10.1.1.1", "tcp/1", true},
				{"prod/web", "8.8.8.8", "tcp/1", false},
				{"prod/web", "prod/api", "tcp/9000", false},
			},
		},
		{
			name:     "both policy types with no rules deny both ways",
			policies: policy("prod", "p", "podSelector: {}\npolicyTypes: [Ingress, Egress]"),
			checks: []check{
				{"prod/web", "prod/api", "tcp/9000", false},
				{"prod/web", "dev/web", "tcp/3000", false},
				{"dev/web", "prod/web", "tcp/8080", false},
				{"dev/web", "dev/tool", "tcp/1", true},
			},
		},
		{
			name:     "podSelector alone selects pods in the policy's namespace",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{podSelector: {matchLabels: {app: web}}}]"),
			checks:   []check{{"prod/web", "prod/api", "tcp/9000", true}, {"dev/web", "prod/api", "tcp/9000", false}},
		},
		{
			name:     "namespaceSelector alone selects every pod in matching namespaces",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {env: dev}}}]"),
			checks: []check{
				{"dev/web", "prod/api", "tcp/9000", true},
				{"dev/tool", "prod/api", "udp/5353", true},
				{"prod/web", "prod/api", "tcp/9000", false},
				{"8.8.8.8", "prod/api", "tcp/9000", false},
			},
		},
		{
			name:     "namespaceSelector and podSelector in one peer are ANDed",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {env: dev}}\n    podSelector: {matchLabels: {app: web}}"),
			checks: []check{
				{"dev/web", "prod/api", "tcp/9000", true},
				{"dev/tool", "prod/api", "tcp/9000", false},
				{"prod/web", "prod/api", "tcp/9000", false},
			},
		},
		{
			name:     "two peers are ORed",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {env: dev}}\n  - podSelector: {matchLabels: {app: web}}"),
			checks: []check{
				{"dev/web", "prod/api", "tcp/9000", true},
				{"dev/tool", "prod/api", "tcp/9000", true},
				{"prod/web", "prod/api", "tcp/9000", true},
				{"prod/db", "prod/api", "tcp/9000", false},
			},
		},
		{
			name:     "empty namespaceSelector matches every namespace",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{namespaceSelector: {}}]"),
			checks: []check{
				{"dev/tool", "prod/api", "tcp/9000", true},
				{"kube-system/coredns", "prod/api", "tcp/9000", true},
				{"default/legacy", "prod/api", "tcp/1", true},
				{"8.8.8.8", "prod/api", "tcp/9000", false},
			},
		},
		{
			name:     "empty podSelector peer matches every pod of the namespace",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{podSelector: {}}]"),
			checks:   []check{{"prod/db", "prod/api", "tcp/9000", true}, {"dev/tool", "prod/api", "tcp/9000", false}},
		},
		{
			name:     "matchExpressions In and NotIn",
			policies: policy("prod", "p", "podSelector: {matchExpressions: [{key: app, operator: In, values: [api, db]}]}\ningress:\n- from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [web]}]}}]"),
			checks: []check{
				{"dev/tool", "prod/db", "tcp/5432", true},
				{"kube-system/coredns", "prod/db", "tcp/5432", true}, // no app label: NotIn holds
				{"dev/web", "prod/db", "tcp/5432", false},
				{"dev/web", "prod/api", "tcp/9000", false},
				{"dev/web", "prod/web", "tcp/8080", true}, // web is not selected
			},
		},
		{
			name:     "matchExpressions Exists and DoesNotExist",
			policies: policy("dev", "p", "podSelector: {matchExpressions: [{key: debug, operator: Exists}]}\ningress:\n- from: [{namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}}]"),
			checks: []check{
				{"kube-system/coredns", "dev/tool", "tcp/1", true},
				{"default/legacy", "dev/tool", "tcp/1", true},
				{"prod/web", "dev/tool", "tcp/1", false},
				{"prod/web", "dev/web", "tcp/3000", true},
			},
		},
		{
			name:     "namespaces carry kubernetes.io/metadata.name",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]"),
			checks:   []check{{"kube-system/coredns", "prod/db", "tcp/5432", true}, {"prod/api", "prod/db", "tcp/5432", false}},
		},
		{
			name:     "ipBlock with except matches external addresses only",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 192.168.0.0/16]}}]"),
			checks: []check{
				{"8.8.8.8", "prod/web", "tcp/8080", true},
				{"10.1.2.3", "prod/web", "tcp/8080", false},
				{"192.168.1.1", "prod/web", "tcp/8080", false},
				{"11.0.0.0", "prod/web", "tcp/8080", true},
				{"prod/api", "prod/web", "tcp/8080", false},
			},
		},
		{
			name:     "egress ipBlock with ports",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n- to: [{ipBlock: {cidr: 203.0.113.0/24}}]\n  ports: [{port: 443}]"),
			checks: []check{
				{"prod/api", "203.0.113.9", "tcp/443", true},
				{"prod/api", "203.0.113.9", "tcp/80", false},
				{"prod/api", "203.0.114.1", "tcp/443", false},
				{"prod/api", "prod/web", "tcp/8080", false},
			},
		},
		{
			name:     "ipv6 ipBlock",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{ipBlock: {cidr: '2001:db8::/32', except: ['2001:db8:1::/48']}}]"),
			checks: []check{
				{"2001:db8::1", "prod/web", "tcp/8080", true},
				{"2001:db8:1::1", "prod/web", "tcp/8080", false},
				{"8.8.8.8", "prod/web", "tcp/8080", false},
			},
		},
		{
			name:     "port number defaults to TCP",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 80}]"),
			checks:   []check{{"prod/api", "prod/web", "tcp/80", true}, {"prod/api", "prod/web", "udp/80", false}, {"prod/api", "prod/web", "tcp/81", false}},
		},
		{
			name:     "protocol without port means every port of the protocol",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{protocol: UDP}]"),
			checks:   []check{{"prod/api", "prod/web", "udp/1", true}, {"prod/api", "prod/web", "udp/65535", true}, {"prod/api", "prod/web", "tcp/53", false}},
		},
		{
			name:     "endPort makes a range",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 8000, endPort: 8080}]"),
			checks: []check{
				{"prod/api", "prod/web", "tcp/8000", true},
				{"prod/api", "prod/web", "tcp/8080", true},
				{"prod/api", "prod/web", "tcp/8081", false},
				{"prod/api", "prod/web", "tcp/7999", false},
			},
		},
		{
			name:     "SCTP",
			policies: policy("kube-system", "p", "podSelector: {}\ningress:\n- ports: [{protocol: SCTP, port: 7777}]"),
			checks:   []check{{"prod/api", "kube-system/coredns", "sctp/7777", true}, {"prod/api", "kube-system/coredns", "tcp/7777", false}},
		},
		{
			name:     "named port resolves per destination pod",
			policies: policy("prod", "p", "podSelector: {}\ningress:\n- ports: [{port: http}]") + policy("dev", "p", "podSelector: {}\ningress:\n- ports: [{port: http}]"),
			checks: []check{
				{"dev/tool", "prod/web", "tcp/8080", true},
				{"dev/tool", "prod/api", "tcp/9000", true},
				{"dev/tool", "prod/api", "tcp/8080", false},
				{"prod/web", "dev/web", "tcp/3000", true},
				{"prod/web", "dev/web", "tcp/8080", false},
				{"prod/web", "dev/tool", "tcp/8080", false}, // tool declares no port named http
			},
		},
		{
			name:     "named port must match the protocol",
			policies: policy("prod", "p", "podSelector: {}\ningress:\n- ports: [{port: http, protocol: UDP}, {port: stats, protocol: UDP}]"),
			checks:   []check{{"dev/tool", "prod/web", "tcp/8080", false}, {"dev/tool", "prod/web", "udp/8080", false}, {"dev/tool", "prod/api", "udp/5353", true}},
		},
		{
			name:     "egress named port resolves against the destination",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress:\n- ports: [{port: pg}]"),
			checks: []check{
				{"prod/web", "prod/db", "tcp/5432", true},
				{"prod/web", "prod/api", "tcp/5432", false},
				{"prod/web", "8.8.8.8", "tcp/5432", false},
			},
		},
		{
			name: "a connection needs the source's egress and the destination's ingress",
			policies: policy("prod", "egress", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress:\n- to: [{podSelector: {matchLabels: {app: db}}}]") +
				policy("prod", "ingress", "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{podSelector: {matchLabels: {app: web}}}]"),
			checks: []check{
				{"prod/web", "prod/api", "tcp/9000", false}, // ingress allows, egress does not
				{"prod/web", "prod/db", "tcp/5432", true},
				{"prod/db", "prod/api", "tcp/9000", false}, // egress open, ingress denies
			},
		},
		{
			name:     "policies add up",
			policies: policy("prod", "a", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 80}]") + policy("prod", "b", "podSelector: {matchLabels: {tier: frontend}}\ningress:\n- ports: [{port: 443}]"),
			checks:   []check{{"dev/tool", "prod/web", "tcp/80", true}, {"dev/tool", "prod/web", "tcp/443", true}, {"dev/tool", "prod/web", "tcp/8080", false}},
		},
		{
			name:     "a policy selects only pods of its own namespace",
			policies: policy("dev", "deny", "podSelector: {matchLabels: {app: web}}"),
			checks:   []check{{"dev/tool", "prod/web", "tcp/8080", true}, {"dev/tool", "dev/web", "tcp/3000", false}},
		},
		{
			name:     "a policy without namespace is in default",
			policies: policy("", "deny", "podSelector: {}"),
			checks:   []check{{"prod/web", "default/legacy", "tcp/80", false}, {"default/legacy", "prod/web", "tcp/8080", true}},
		},
		{
			name:     "ports and peers in one rule are ANDed, rules are ORed",
			policies: policy("prod", "p", "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{podSelector: {matchLabels: {app: api}}}]\n  ports: [{port: 5432}]\n- from: [{podSelector: {matchLabels: {app: web}}}]\n  ports: [{port: 9187}]"),
			checks: []check{
				{"prod/api", "prod/db", "tcp/5432", true},
				{"prod/api", "prod/db", "tcp/9187", false},
				{"prod/web", "prod/db", "tcp/9187", true},
				{"prod/web", "prod/db", "tcp/5432", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadCluster(t, tt.policies)
			for _, ck := range tt.checks {
				ps, err := portset.Parse(ck.port)
				if err != nil {
					t.Fatal(err)
				}
				var proto portset.Protocol
				var port int32
				for _, p := range portset.Protocols() {
					if ivs := ps.Intervals(p); len(ivs) > 0 {
						proto, port = p, ivs[0].Lo
					}
				}
				got := Allowed(c, party(t, c, ck.src), party(t, c, ck.dst), proto, port)
				if got != ck.want {
					t.Errorf("Allowed(%s -> %s %s) = %v, want %v", ck.src, ck.dst, ck.port, got, ck.want)
				}
			}
		})
	}
}

// TestPorts checks the port-by-port enumeration on one pair.
func TestPorts(t *testing.T) {
	c := loadCluster(t, policy("prod", "p", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 8000, endPort: 8080}, {port: metrics}, {protocol: UDP, port: 53}]"))
	got := Ports(c, party(t, c, "prod/api"), party(t, c, "prod/web"))
	if want := "TCP/8000-8080,TCP/9090,UDP/53"; got.String() != want {
		t.Errorf("Ports = %s, want %s", got, want)
	}
}

// TestInvalidPolicies checks that policies the API server rejects are
// reported and left out.
func TestInvalidPolicies(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"endPort with a named port", "podSelector: {}\ningress:\n- ports: [{port: http, endPort: 90}]", "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"},
		{"endPort below port", "podSelector: {}\ningress:\n- ports: [{port: 90, endPort: 80}]", "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`"},
		{"endPort without port", "podSelector: {}\ningress:\n- ports: [{endPort: 80}]", "spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is not specified"},
		{"empty peer", "podSelector: {}\ningress:\n- from: [{}]", "spec.ingress[0].from[0]: Required value: must specify a peer"},
		{"ipBlock with a selector", "podSelector: {}\ningress:\n- from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]", "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"},
		{"except outside cidr", "podSelector: {}\ningress:\n- from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]", "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`"},
		{"bad cidr", "podSelector: {}\ningress:\n- from: [{ipBlock: {cidr: 10.0.0.0/33}}]", "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\""},
		{"unknown operator", "podSelector: {matchExpressions: [{key: a, operator: Like}]}", "spec.podSelector.matchExpressions[0].operator: Invalid value: \"Like\": not a valid selector operator"},
		{"In without values", "podSelector: {matchExpressions: [{key: a, operator: In}]}", "spec.podSelector.matchExpressions[0].values: Required value"},
		{"bad protocol", "podSelector: {}\ningress:\n- ports: [{protocol: ICMP}]", "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\""},
		{"bad policy type", "podSelector: {}\npolicyTypes: [Sideways]", "spec.policyTypes[0]: Unsupported value: \"Sideways\""},
		{"port out of range", "podSelector: {}\ningress:\n- ports: [{port: 70000}]", "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := k8s.Decode([]byte(policy("prod", "bad", tt.spec)), "bad.yaml")
			if len(errs) > 0 {
				t.Fatalf("decode: %v", errs[0])
			}
			c, problems := model.FromObjects(objs)
			if len(problems) != 1 || !strings.Contains(problems[0].Message, tt.want) {
				t.Fatalf("problems = %v, want one containing %q", problems, tt.want)
			}
			if len(c.Policies) != 0 {
				t.Errorf("invalid policy kept: %+v", c.Policies)
			}
		})
	}
}
