package model_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// validationCase is one NetworkPolicy and what the API server answers when
// it is created: nothing (accepted), the errors of its validation ("Type
// field", as metav1.StatusCause reports them), or errDecode when it cannot
// read the request at all (a value of the wrong type, an unknown field with
// kubectl's strict field validation). TestValidationAgainstAPIServer checks
// every answer with a real API server; TestValidationCases checks the model.
type validationCase struct {
	name string
	// meta and spec are YAML flow mappings, without braces. The object is
	// created in the test's namespace unless meta names one.
	meta, spec string
	want       []string
}

const errDecode = "decode"

func (c validationCase) object(ns string) string {
	meta := c.meta
	if !strings.Contains(meta, "namespace:") {
		meta += ", namespace: " + ns
	}
	if !strings.Contains(meta, "name:") && !strings.Contains(meta, "generateName:") {
		meta += ", name: p"
	}
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {%s}\nspec: {%s}\n", strings.TrimPrefix(meta, ", "), c.spec)
}

var validationCases = []validationCase{
	// Accepted.
	{name: "default deny", spec: "podSelector: {}, policyTypes: [Ingress, Egress]"},
	{name: "every field", spec: `podSelector: {matchLabels: {app.kubernetes.io/name: web}, matchExpressions: [{key: tier, operator: In, values: [front, ""]}, {key: env, operator: NotIn, values: [dev]}, {key: team, operator: Exists}, {key: debug, operator: DoesNotExist}]},
    ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.4/32]}}, {namespaceSelector: {matchLabels: {team: shop}}, podSelector: {}}], ports: [{port: 80}, {protocol: UDP, port: 53}, {protocol: SCTP, port: 9000, endPort: 9010}, {port: http-metrics}, {protocol: TCP}]}],
    egress: [{to: [{ipBlock: {cidr: "fd00::/8", except: ["fd00:1::/32"]}}], ports: [{port: 65535, endPort: 65535}]}]`},
	{name: "IPv6 not in canonical form", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: "FD00:0:0:0:0:0:0:0/8"}}]}]`},
	{name: "every address", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: "::/0"}}]}]`},
	{name: "rule matching everything", spec: "podSelector: {}, ingress: [{}], egress: [{to: []}]"},
	{name: "empty label value", spec: `podSelector: {matchLabels: {app: ""}}`},
	{name: "name with dots", meta: "name: allow.web-v1", spec: "podSelector: {}"},
	{name: "name of 253 characters", meta: "name: " + strings.Repeat("a", 253), spec: "podSelector: {}"},
	{name: "generated name", meta: "generateName: allow-", spec: "podSelector: {}"},
	{name: "qualified finalizer", meta: "finalizers: [kordon.dev/keep]", spec: "podSelector: {}"},

	// ipBlock.
	{name: "cidr with host bits", spec: `podSelector: {}, ingress: [{from: [{podSelector: {}}, {ipBlock: {cidr: 10.0.0.1/8}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[1].ipBlock.cidr"}},
	{name: "IPv4-mapped IPv6 cidr", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: "::ffff:10.0.0.0/104"}}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].to[0].ipBlock.cidr"}},
	{name: "cidr with leading zeros", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: 010.0.0.0/8}}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].to[0].ipBlock.cidr"}},
	{name: "cidr prefix too long", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].to[0].ipBlock.cidr"}},
	{name: "cidr without prefix", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].to[0].ipBlock.cidr"}},
	{name: "empty cidr", spec: `podSelector: {}, egress: [{to: [{ipBlock: {cidr: ""}}]}]`,
		want: []string{"FieldValueRequired spec.egress[0].to[0].ipBlock.cidr"}},
	{name: "except outside cidr", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 11.0.0.0/16]}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].ipBlock.except[1]"}},
	{name: "except equal to cidr", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].ipBlock.except[0]"}},
	{name: "except with host bits", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.1/16]}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].ipBlock.except[0]"}},
	{name: "except of the other family", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: ["fd00::/16"]}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].ipBlock.except[0]"}},
	{name: "ipBlock with a selector", spec: `podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]`,
		want: []string{"FieldValueForbidden spec.ingress[0].from[0]"}},
	{name: "empty peer", spec: `podSelector: {}, egress: [{to: [{podSelector: {}}, {}]}]`,
		want: []string{"FieldValueRequired spec.egress[0].to[1]"}},

	// Ports.
	{name: "port as a numeric string", spec: `podSelector: {}, ingress: [{ports: [{port: "80"}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].ports[0].port"}},
	{name: "port name too long", spec: `podSelector: {}, ingress: [{ports: [{port: metrics-endpoint}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].ports[0].port"}},
	{name: "port name with an underscore", spec: `podSelector: {}, ingress: [{ports: [{port: http_alt}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].ports[0].port"}},
	{name: "port 0", spec: `podSelector: {}, ingress: [{ports: [{port: 0}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].ports[0].port"}},
	{name: "port above 65535", spec: `podSelector: {}, ingress: [{ports: [{port: 70000}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].ports[0].port"}},
	{name: "endPort without port", spec: `podSelector: {}, egress: [{ports: [{endPort: 90}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].ports[0].endPort"}},
	{name: "endPort below port", spec: `podSelector: {}, egress: [{ports: [{port: 90, endPort: 80}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].ports[0].endPort"}},
	{name: "endPort with a named port", spec: `podSelector: {}, egress: [{ports: [{port: http, endPort: 90}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].ports[0].endPort"}},
	{name: "endPort above 65535", spec: `podSelector: {}, egress: [{ports: [{port: 80, endPort: 70000}]}]`,
		want: []string{"FieldValueInvalid spec.egress[0].ports[0].endPort"}},
	{name: "unknown protocol", spec: `podSelector: {}, egress: [{ports: [{protocol: ICMP}]}]`,
		want: []string{"FieldValueNotSupported spec.egress[0].ports[0].protocol"}},
	{name: "lower-case protocol", spec: `podSelector: {}, egress: [{ports: [{protocol: tcp, port: 80}]}]`,
		want: []string{"FieldValueNotSupported spec.egress[0].ports[0].protocol"}},

	// Selectors.
	{name: "invalid label key", spec: `podSelector: {matchLabels: {"app!": web}}`,
		want: []string{"FieldValueInvalid spec.podSelector.matchLabels"}},
	{name: "label key prefix not a DNS name", spec: `podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {"Team.Example/name": shop}}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].namespaceSelector.matchLabels"}},
	{name: "invalid label value", spec: `podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: "web server"}}}]}]`,
		want: []string{"FieldValueInvalid spec.ingress[0].from[0].podSelector.matchLabels"}},
	{name: "label value too long", spec: `podSelector: {matchLabels: {app: ` + strings.Repeat("v", 64) + `}}`,
		want: []string{"FieldValueInvalid spec.podSelector.matchLabels"}},
	{name: "invalid operator", spec: `podSelector: {matchExpressions: [{key: app, operator: Like, values: [web]}]}`,
		want: []string{"FieldValueInvalid spec.podSelector.matchExpressions[0].operator"}},
	{name: "Exists with values", spec: `podSelector: {}, egress: [{to: [{podSelector: {matchExpressions: [{key: app, operator: Exists, values: [web]}]}}]}]`,
		want: []string{"FieldValueForbidden spec.egress[0].to[0].podSelector.matchExpressions[0].values"}},
	{name: "In without values", spec: `podSelector: {matchExpressions: [{key: app, operator: In}]}`,
		want: []string{"FieldValueRequired spec.podSelector.matchExpressions[0].values"}},
	{name: "In with an invalid value", spec: `podSelector: {matchExpressions: [{key: app, operator: In, values: [ok, "not ok"]}]}`,
		want: []string{"FieldValueInvalid spec.podSelector.matchExpressions[0].values[1]"}},
	{name: "invalid expression key", spec: `podSelector: {matchExpressions: [{key: "-app", operator: Exists}]}`,
		want: []string{"FieldValueInvalid spec.podSelector.matchExpressions[0].key"}},

	// Policy types.
	{name: "unknown policy type", spec: "podSelector: {}, policyTypes: [Ingress, Sideways]",
		want: []string{"FieldValueNotSupported spec.policyTypes[1]"}},
	{name: "three policy types", spec: "podSelector: {}, policyTypes: [Ingress, Egress, Ingress]",
		want: []string{"FieldValueInvalid spec.policyTypes"}},

	// Metadata.
	{name: "upper-case name", meta: "name: Allow-Web", spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.name"}},
	{name: "name with an underscore", meta: "name: allow_web", spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.name"}},
	{name: "name of 254 characters", meta: "name: " + strings.Repeat("a", 254), spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.name"}},
	{name: "name ending in a dash", meta: "name: allow-", spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.name"}},
	{name: "invalid label", meta: `name: p, labels: {"bad key": x}`, spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.labels"}},
	{name: "annotations over 256 KiB", meta: "name: p, annotations: {note: " + strings.Repeat("x", 256*1024) + "}", spec: "podSelector: {}",
		want: []string{"FieldValueTooLong metadata.annotations"}},
	{name: "unqualified finalizer", meta: "finalizers: [keep]", spec: "podSelector: {}",
		want: []string{"FieldValueInvalid metadata.finalizers[0]"}},

	// Decoding.
	{name: "unknown field", spec: "podSelector: {}, ingres: [{}]", want: []string{errDecode}},
	{name: "port of the wrong type", spec: "podSelector: {}, ingress: [{ports: [{port: true}]}]", want: []string{errDecode}},
	{name: "label value of the wrong type", spec: "podSelector: {matchLabels: {app: 1}}", want: []string{errDecode}},

	// Several errors.
	{name: "several errors", meta: "name: Bad", spec: `podSelector: {matchExpressions: [{key: app, operator: Exists, values: [x]}]}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/8, except: [192.168.0.0/16]}}], ports: [{port: "443"}]}]`,
		want: []string{
			"FieldValueInvalid metadata.name",
			"FieldValueForbidden spec.podSelector.matchExpressions[0].values",
			"FieldValueInvalid spec.ingress[0].ports[0].port",
			"FieldValueInvalid spec.ingress[0].from[0].ipBlock.cidr",
			"FieldValueInvalid spec.ingress[0].from[0].ipBlock.except[0]",
		}},
}

// modelAnswer decodes and validates the case's object as FromObjects does
// and returns its errors as "Type field" (or errDecode), sorted, with the
// problems FromObjects reports.
func modelAnswer(t *testing.T, doc string) (answer []string, problems []model.Problem, obj *k8s.Object) {
	t.Helper()
	objs, errs := k8s.Decode([]byte(doc), "case.yaml")
	if len(errs) > 0 || len(objs) != 1 {
		t.Fatalf("decode %s: %v", doc, errs)
	}
	_, problems = model.FromObjects(objs)
	np, err := model.DecodePolicy(objs[0].Content)
	if err != nil {
		return []string{errDecode}, problems, objs[0]
	}
	for _, e := range model.ValidatePolicy(np, model.ValidateCreate) {
		answer = append(answer, string(e.Type)+" "+e.Field)
	}
	slices.Sort(answer)
	return slices.Compact(answer), problems, objs[0]
}

// TestValidationCases checks the model against the API server's answers
// recorded in validationCases, and that FromObjects reports every rejected
// policy as one problem naming the fields, and keeps every accepted one.
func TestValidationCases(t *testing.T) {
	if len(validationCases) < 30 {
		t.Fatalf("%d cases, want at least 30", len(validationCases))
	}
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			got, problems, _ := modelAnswer(t, tc.object("shop"))
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("errors = %q, want %q", got, want)
			}
			if len(tc.want) == 0 {
				if len(problems) != 0 {
					t.Errorf("problems = %v, want none", problems)
				}
				return
			}
			if len(problems) != 1 {
				t.Fatalf("problems = %v, want one", problems)
			}
			for _, w := range tc.want {
				if _, field, _ := strings.Cut(w, " "); w != errDecode && !strings.Contains(problems[0].Message, field+": ") {
					t.Errorf("problem %q does not name %s", problems[0].Message, field)
				}
			}
		})
	}
}
