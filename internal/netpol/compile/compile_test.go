package compile

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
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
	objs, err := Compile(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(objs)
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
	again, _ := Compile(in)
	if b, _ := Marshal(again); !bytes.Equal(b, got) {
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
		{"unknown group", head + "groups: {a: {}}\nrules: [{from: a, to: b}]\n", "unknown group"},
		{"bad port", head + "groups: {a: {}}\nrules: [{from: a, to: a, ports: [tcp/0]}]\n", "port"},
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
	objs, err := Compile(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		md := o["metadata"].(map[string]any)
		names = append(names, md["namespace"].(string)+"/"+md["name"].(string))
	}
	want := "obs/kordon-default-deny obs/kordon-mon other/kordon-default-deny shop/kordon-default-deny shop/kordon-web"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("policies = %s, want %s", got, want)
	}
}
