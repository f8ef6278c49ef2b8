package rules

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const paramRuleYAML = `id: T-PARAM-1
title: ConfigMap has too many keys
remediation: split it
match:
  resources: [{apiGroups: [""], kinds: [ConfigMap]}]
parameters:
  - name: maxKeys
    description: most keys allowed
    default: 2
  - name: ignored
    default: [skip-me]
  - name: prefix
    default: "x-"
  - name: strict
    type: bool
    default: true
variables:
  - name: counted
    expression: >-
      has(object.data) ? object.data.filter(k, !(k in params.ignored) && (!params.strict || k.startsWith(params.prefix))) : []
validations:
  - expression: size(variables.counted) <= params.maxKeys
    messageExpression: "'more than ' + string(params.maxKeys) + ' keys: ' + variables.counted.join(', ')"
`

const paramConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns}
data: {x-a: "1", x-b: "2", x-c: "3", skip-me: "4", y-d: "5"}
`

func paramRule(t *testing.T) *Rule {
	t.Helper()
	rs, err := ParseRules([]byte(paramRuleYAML), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}

func findingsWith(t *testing.T, r *Rule, settings ...ParamSetting) []string {
	t.Helper()
	set, err := SetParams([]*Rule{r}, settings)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.Evaluate(context.Background(), decodeAll(t, paramConfigMap), EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors[0].Message)
	}
	var msgs []string
	for _, f := range res.Findings {
		msgs = append(msgs, f.Message)
	}
	return msgs
}

// TestParamsChangeVerdicts evaluates one rule with its defaults and with
// values set as JSON (a config file) and as text (--param).
func TestParamsChangeVerdicts(t *testing.T) {
	r := paramRule(t)
	if got := findingsWith(t, r); len(got) != 1 || !strings.HasPrefix(got[0], "more than 2 keys: ") || strings.Count(got[0], ",") != 2 || strings.Contains(got[0], "y-d") {
		t.Errorf("defaults: findings %q, want one naming x-a, x-b, x-c", got)
	}
	if got := findingsWith(t, r, ParamSetting{Rule: "T-PARAM-1", Name: "maxKeys", Value: json.RawMessage(`3`)}); len(got) != 0 {
		t.Errorf("maxKeys 3: findings %q, want none", got)
	}
	// Later settings win; lists and booleans from text.
	got := findingsWith(t, r,
		ParamSetting{Rule: "T-PARAM-1", Name: "maxKeys", Value: json.RawMessage(`3`)},
		ParamSetting{Rule: "t-param-1", Name: "maxKeys", Text: "1"},
		ParamSetting{Rule: "T-PARAM-1", Name: "ignored", Text: "x-a, x-b"},
		ParamSetting{Rule: "T-PARAM-1", Name: "strict", Text: "false"})
	if len(got) != 1 || !strings.HasPrefix(got[0], "more than 1 keys: ") || strings.Count(got[0], ",") != 2 ||
		!strings.Contains(got[0], "x-c") || !strings.Contains(got[0], "skip-me") || !strings.Contains(got[0], "y-d") {
		t.Errorf("set from text: findings %q, want one naming x-c, skip-me and y-d", got)
	}
	// The rule as written is unchanged.
	if v, set := r.ParamValue("maxKeys"); set || string(v) != "2" {
		t.Errorf("original rule's maxKeys = %s (set %v), want the default 2", v, set)
	}
}

func TestSetParamsErrors(t *testing.T) {
	r := paramRule(t)
	other := &Rule{ID: "T-OTHER-1"}
	cases := []struct {
		s    ParamSetting
		want string
	}{
		{ParamSetting{Rule: "T-PARAM-2", Name: "maxKeys", Text: "1", Source: "--param T-PARAM-2.maxKeys"},
			"--param T-PARAM-2.maxKeys: no rule T-PARAM-2 (did you mean T-PARAM-1?)"},
		{ParamSetting{Rule: "T-PARAM-1", Name: "maxkey", Text: "1", Source: "cfg:3: parameters.T-PARAM-1.maxkey"},
			`cfg:3: parameters.T-PARAM-1.maxkey: rule T-PARAM-1 has no parameter "maxkey" (did you mean maxKeys?)`},
		{ParamSetting{Rule: "T-OTHER-1", Name: "x", Text: "1"}, "rule T-OTHER-1 parameter x: rule T-OTHER-1 has no parameters"},
		{ParamSetting{Rule: "T-PARAM-1", Name: "maxKeys", Value: json.RawMessage(`"many"`), Source: "cfg:4: parameters.T-PARAM-1.maxKeys"},
			`cfg:4: parameters.T-PARAM-1.maxKeys: rule T-PARAM-1 parameter maxKeys: want a whole number, got "many"`},
		{ParamSetting{Rule: "T-PARAM-1", Name: "maxKeys", Value: json.RawMessage(`2.5`)}, "want a whole number, got 2.5"},
		{ParamSetting{Rule: "T-PARAM-1", Name: "maxKeys", Text: "lots"}, `want a whole number, got "lots"`},
		{ParamSetting{Rule: "T-PARAM-1", Name: "ignored", Value: json.RawMessage(`"x"`)}, `want a list of strings, got "x"`},
		{ParamSetting{Rule: "T-PARAM-1", Name: "ignored", Value: json.RawMessage(`["a", 1]`)}, `[1]: want a string, got 1`},
		{ParamSetting{Rule: "T-PARAM-1", Name: "strict", Value: json.RawMessage(`"yes"`)}, `want true or false, got "yes"`},
		{ParamSetting{Rule: "T-PARAM-1", Name: "prefix", Value: json.RawMessage(`{"a": 1}`)}, `want a string, got a mapping`},
	}
	for _, c := range cases {
		_, err := SetParams([]*Rule{r, other}, []ParamSetting{c.s})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetParams(%+v) = %v, want %q", c.s, err, c.want)
		}
	}
}

func TestParamDeclarations(t *testing.T) {
	base := "id: T-P-1\ntitle: t\nremediation: r\nmatch: {workloads: true}\nvalidations: [{expression: 'true'}]\n"
	cases := []struct{ params, want string }{
		{"parameters: [{name: a}]", "parameters[0] (a): default is required"},
		{"parameters: [{name: a, default: []}]", "parameters[0] (a): set type"},
		{"parameters: [{name: a, type: list(string), default: []}]", ""},
		{"parameters: [{name: a, type: float, default: 1}]", `type "float": want one of string, int, bool, list(string), list(int)`},
		{"parameters: [{name: a, type: int, default: x}]", `parameters[0] (a): default: want a whole number, got "x"`},
		{"parameters: [{name: a-b, default: 1}]", `name "a-b" is not a CEL identifier`},
		{"parameters: [{name: a, default: 1}, {name: a, default: 2}]", `duplicate name "a"`},
		{"parameters: [{name: a, default: {x: 1}}]", "set type"},
		{"parameters: [{name: a, default: 1}]\nmatchConditions: [{name: c, expression: 'params.a > 0'}]", "no params"},
	}
	for _, c := range cases {
		_, err := ParseRules([]byte(base+c.params), "p.yaml")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.params, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.params, err, c.want)
		}
	}
}

// TestParamsTypeChecked: an expression that uses a parameter at the wrong
// type, or one the rule does not declare, fails to compile, naming the
// rule and the expression.
func TestParamsTypeChecked(t *testing.T) {
	base := "id: T-P-1\ntitle: t\nremediation: r\nmatch: {workloads: true}\nparameters: [{name: limit, default: 3}]\n"
	cases := []struct{ validations, want string }{
		{"validations: [{expression: \"params.limit == 'three'\"}]", "rule T-P-1 (p.yaml:1): validations[0].expression: ERROR: <input>:1:14: found no matching overload for '_==_' applied to '(int, string)'"},
		{"validations: [{expression: 'params.limits > 0'}]", "undeclared reference"},
		{"validations: [{expression: 'params.limit + 1'}]", "must return bool"},
	}
	for _, c := range cases {
		rs, err := ParseRules([]byte(base+c.validations), "p.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(rs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Compile error %v, want %q", c.validations, err, c.want)
		}
	}
}

func TestInlined(t *testing.T) {
	set, err := SetParams([]*Rule{paramRule(t)}, []ParamSetting{{Rule: "T-PARAM-1", Name: "ignored", Value: json.RawMessage(`["it's", "\"q\""]`)}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inlined(set[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Parameters) != 0 || strings.Contains(in.Variables[0].Expression+in.Validations[0].Expression+in.Validations[0].MessageExpression, "params") {
		t.Errorf("inlined rule still reads params: %+v", in)
	}
	for _, want := range []string{`["it's", "\"q\""]`, `"x-"`, "true"} {
		if !strings.Contains(in.Variables[0].Expression, want) {
			t.Errorf("inlined variable %q lacks %s", in.Variables[0].Expression, want)
		}
	}
	if !strings.Contains(in.Validations[0].Expression, "<= 2") {
		t.Errorf("inlined validation %q lacks the default 2", in.Validations[0].Expression)
	}
	// The inlined text compiles on its own.
	if _, err := Compile([]*Rule{in}); err != nil {
		t.Errorf("inlined rule does not compile: %v", err)
	}
}

func TestParseParamFlag(t *testing.T) {
	s, err := ParseParamFlag("KOR-IMG-003.trustedRegistries=a/,b/")
	if err != nil || s.Rule != "KOR-IMG-003" || s.Name != "trustedRegistries" || s.Text != "a/,b/" {
		t.Errorf("ParseParamFlag = %+v, %v", s, err)
	}
	for _, bad := range []string{"KOR-IMG-003", "KOR-IMG-003=x", ".name=x", "KOR-IMG-003.=x"} {
		if _, err := ParseParamFlag(bad); err == nil {
			t.Errorf("ParseParamFlag(%q) = nil error", bad)
		}
	}
	raw, err := ParamStringList.parseText(" a , ,b ")
	if err != nil || string(raw) != `["a","b"]` {
		t.Errorf("parseText list = %s, %v", raw, err)
	}
	if raw, err := ParamStringList.parseText(""); err != nil || string(raw) != `[]` {
		t.Errorf("parseText empty = %s, %v; want []", raw, err)
	}
	if raw, err := ParamIntList.parseText("[1, 2]"); err != nil || string(raw) != `[1, 2]` {
		t.Errorf("parseText JSON list = %s, %v", raw, err)
	}
}
