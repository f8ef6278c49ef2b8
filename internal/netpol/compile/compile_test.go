package compile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/emit"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/shop.intent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Compile(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(out.Policies)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/shop.policies.yaml", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/shop.policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("compiled policies differ from testdata/shop.policies.yaml:\n%s", got)
	}
	again, _ := Compile(in, Options{})
	if b, _ := Marshal(again.Policies); !bytes.Equal(b, got) {
		t.Error("compiling twice gives different output")
	}
}

func TestParseErrors(t *testing.T) {
	const head = "apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\n"
	tests := []struct{ name, doc, want string }{
		{"wrong kind", "apiVersion: v1\nkind: Pod\n", "want apiVersion"},
		{"unknown field", head + "groups: {a: {lables: {x: y}}}\n", "unknown field"},
		{"mixed group", head + "groups: {a: {cidrs: [10.0.0.0/8], labels: {x: y}}}\n", "either cidrs"},
		{"bad cidr", head + "groups: {a: {cidrs: [10.0.0.0/40]}}\n", "cidr"},
		{"IPv4-mapped cidr", head + "groups: {a: {cidrs: ['::ffff:10.0.0.0/104']}}\n", "IPv4-mapped"},
		{"IPv4-mapped except", head + "groups: {a: {cidrs: ['::/0'], except: ['::ffff:0:0/96']}}\n", "IPv4-mapped"},
		{"unknown group", head + "groups: {a: {}}\nrules: [{from: a, to: b}]\n", "unknown group"},
		{"bad port", head + "groups: {a: {}}\nrules: [{from: a, to: a, ports: [tcp/0]}]\n", "port"},
		{"bad port name", head + "groups: {a: {}}\nrules: [{from: a, to: a, ports: [tcp/HTTP]}]\n", "a port name must contain only"},
		{"port name too long", head + "groups: {a: {}}\nrules: [{from: a, to: a, ports: [tcp/metrics-endpoint]}]\n", "must be no more than 15 characters"},
		{"bad zone", head + "zones: [{namespaces: [x], deny: [sideways]}]\n", "want ingress or egress"},
		{"namespace twice", head + "zones: [{namespaces: [x]}, {namespaces: [x]}]\n", "already in a zone"},
		{"bad group name", head + "groups: {Web_1: {}}\n", "DNS label"},
		{"bad namespace", head + "groups: {a: {namespaces: [Shop]}}\n", "namespace \"Shop\""},
		{"bad label key", head + "groups: {a: {labels: {'a b': x}}}\n", "label key"},
		{"bad label value", head + "zones: [{namespaces: [x], namespaceLabels: {a: 'not ok'}}]\n", "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLabelledNamespaceInZone(t *testing.T) {
	in, err := Parse([]byte(`apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
groups:
  mon: {namespaceLabels: {team: obs}}
  web: {namespaces: [shop]}
zones:
- {namespaces: [shop]}
- {namespaces: [obs], namespaceLabels: {team: obs}}
- {namespaces: [other], namespaceLabels: {team: other}}
rules: [{from: mon, to: web}]
`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Compile(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range out.Policies {
		md := o["metadata"].(map[string]any)
		names = append(names, md["namespace"].(string)+"/"+md["name"].(string))
	}
	want := "obs/kordon-default-deny obs/kordon-mon other/kordon-default-deny shop/kordon-default-deny shop/kordon-web"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("policies = %s, want %s", got, want)
	}
}

// TestLargeIntents compiles intents whose policies would be rejected as
// written — names over 253 characters, a policy over the size limit,
// thousands of intent rules for one policy — and checks that every policy
// is valid, that renames and splits are reported, and that the split
// policies allow what the whole ones allow.
func TestLargeIntents(t *testing.T) {
	var cidrs, rules []string
	for i := range 4000 {
		cidrs = append(cidrs, fmt.Sprintf("198.18.%d.%d/32", i/256, i%256))
	}
	for i := range 3000 {
		rules = append(rules, fmt.Sprintf("{from: web, to: api, ports: [tcp/%d]}", 1000+i))
	}
	doc := fmt.Sprintf(`apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata: {name: %s}
groups:
  web: {namespaces: [shop], labels: {app: web}}
  api: {namespaces: [shop], labels: {app: api}}
  partners: {cidrs: [%s]}
zones: [{namespaces: [shop]}]
rules: [{from: partners, to: web, ports: [tcp/443]}, %s]
`, strings.Repeat("x", 250), strings.Join(cidrs, ", "), strings.Join(rules, ", "))
	in, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	small, err := Compile(in, Options{MaxPolicyBytes: emit.MinBytes})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Compile(in, Options{MaxPolicyBytes: emit.LimitBytes})
	if err != nil {
		t.Fatal(err)
	}
	var renamed, split int
	for _, c := range small.Changes {
		switch {
		case strings.HasPrefix(c, "renamed shop/"+strings.Repeat("x", 250)):
			renamed++
		case strings.HasPrefix(c, "split shop/"):
			split++
		}
	}
	if renamed != 3 || split != 2 {
		t.Errorf("changes %q, want 3 renames (default-deny, web, api) and 2 splits (web, api)", small.Changes)
	}
	for _, p := range small.Policies {
		if err := emit.Validate(p, emit.MinBytes); err != nil {
			t.Errorf("invalid policy: %v", err)
		}
		rules := p["metadata"].(map[string]any)["annotations"].(map[string]any)[AnnotationRules].(string)
		if len(rules) > MaxRulesAnnotation {
			t.Errorf("rules annotation of %d bytes", len(rules))
		}
	}
	if len(small.Policies) <= len(whole.Policies) {
		t.Errorf("%d policies at the smallest size, %d at the largest; want more", len(small.Policies), len(whole.Policies))
	}
	connections := func(out *Output) []string {
		data, err := Marshal(out.Policies)
		if err != nil {
			t.Fatal(err)
		}
		objs, errs := k8s.Decode(append([]byte(largeWorkloads), data...), "compiled.yaml")
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		c, problems := model.FromObjects(objs)
		if len(problems) > 0 {
			t.Fatal(problems[0])
		}
		r := analyzer.Analyze(c, analyzer.Options{})
		var conns []string
		for _, cn := range r.Connections() {
			conns = append(conns, r.Endpoints()[cn.Src].Name()+" => "+r.Endpoints()[cn.Dst].Name()+" : "+cn.Ports.String())
		}
		slices.Sort(conns)
		return conns
	}
	if got, want := connections(small), connections(whole); !slices.Equal(got, want) {
		t.Errorf("split policies allow %d connections, whole ones %d", len(got), len(want))
	}
}

const largeWorkloads = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c}]}
---
`

func TestRulesAnnotation(t *testing.T) {
	if got := rulesAnnotation([]string{"1: a", "2: b"}); got != "1: a\n2: b" {
		t.Errorf("short list = %q", got)
	}
	var rules []string
	for i := range 2000 {
		rules = append(rules, fmt.Sprintf("%d: from web to api on tcp/%d", i+1, 1000+i))
	}
	got := rulesAnnotation(rules)
	if len(got) > MaxRulesAnnotation || !strings.HasPrefix(got, "1: from web") || !strings.Contains(got, "\n... and ") {
		t.Errorf("long list: %d bytes, ending %q", len(got), got[len(got)-40:])
	}
	lines := strings.Split(got, "\n")
	if n := len(lines) - 1; lines[n] != fmt.Sprintf("... and %d more", 2000-n) {
		t.Errorf("last line %q after %d rules", lines[n], n)
	}
}
