package rules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

func decodeAll(t *testing.T, doc string) []*k8s.Object {
	t.Helper()
	objs, errs := k8s.Decode([]byte(doc), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return objs
}

// TestMatchConditions checks that conditions narrow a rule, are not counted
// as evaluations when false, and report errors.
func TestMatchConditions(t *testing.T) {
	rule := &Rule{
		ID: "T-COND-1", Title: "t", Remediation: "r",
		Match:           Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
		MatchConditions: []MatchCondition{{Name: "in-kube-system", Expression: "object.metadata.namespace == 'kube-system'"}},
		Validations:     []Validation{{Expression: "false", Message: "flagged"}},
	}
	twin := *rule
	twin.ID = "T-COND-2"
	rs, err := Compile([]*Rule{rule, &twin})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.conditions) != 1 {
		t.Errorf("%d distinct conditions compiled, want 1 shared", len(rs.conditions))
	}
	objs := decodeAll(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`)
	res, err := rs.Evaluate(context.Background(), objs, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 || res.Findings[0].Resource.Name != "a" || res.Findings[1].Resource.Name != "a" {
		t.Errorf("findings = %+v, want both rules on a only", res.Findings)
	}
	if res.Tallies[0].Evaluated != 1 {
		t.Errorf("evaluated = %d, want 1 (conditions exclude b and c)", res.Tallies[0].Evaluated)
	}
	// c has no namespace: the condition fails with an error, reported per rule.
	if len(res.Errors) != 2 {
		t.Errorf("errors = %+v, want the missing-namespace error of both rules", res.Errors)
	}
}

func TestMatchConditionsMayNotUseVariables(t *testing.T) {
	r := &Rule{ID: "T-COND-3", Title: "t", Remediation: "r", Match: Match{Workloads: true},
		MatchConditions: []MatchCondition{{Name: "x", Expression: "size(variables.allContainers) > 0"}},
		Validations:     []Validation{{Expression: "true"}}}
	if err := r.Validate(); err == nil {
		t.Error("a match condition that reads variables was accepted")
	}
}

// TestErroredEvaluationIsNotAPass checks that an object a rule could not
// judge is reported and left out of the rule's checks (so it cannot raise
// a compliance score).
func TestErroredEvaluationIsNotAPass(t *testing.T) {
	rs, err := Compile([]*Rule{{ID: "T-ERR-1", Title: "t", Remediation: "r",
		Match:       Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
		Validations: []Validation{{Expression: "object.data.missing == 'x'"}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.Evaluate(context.Background(), decodeAll(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"), EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Tallies[0].Evaluated != 0 || len(res.Findings) != 0 {
		t.Errorf("errors %d, evaluated %d, findings %d; want 1, 0, 0", len(res.Errors), res.Tallies[0].Evaluated, len(res.Findings))
	}
}

// TestCostLimit checks that an expression whose runtime cost exceeds the API
// server's per-call limit is stopped and reported, not passed.
func TestCostLimit(t *testing.T) {
	rs, err := Compile([]*Rule{{ID: "T-COST-1", Title: "t", Remediation: "r",
		Match:       Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
		Validations: []Validation{{Expression: "object.data.items.split(',').all(x, object.data.items.split(',').all(y, x == y || x != y))"}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Only the cost limit may stop it (the race detector slows it past the
	// object's time limit).
	noTimeLimit := EvalOptions{ObjectTimeout: -1}
	items := make([]string, 3000)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	obj := &k8s.Object{Content: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big"}, "data": map[string]any{"items": strings.Join(items, ",")}}}
	res, err := rs.Evaluate(context.Background(), []*k8s.Object{obj}, noTimeLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "cost") {
		t.Fatalf("errors = %+v, want the cost limit exceeded", res.Errors)
	}
	if len(res.Findings) != 0 || res.Tallies[0].Evaluated != 0 {
		t.Errorf("a stopped evaluation counted: findings %d, evaluated %d", len(res.Findings), res.Tallies[0].Evaluated)
	}
	// The same expression on a small object is well inside the limit.
	obj.Content["data"] = map[string]any{"items": "a,b,c"}
	res, err = rs.Evaluate(context.Background(), []*k8s.Object{obj}, noTimeLimit)
	if err != nil || len(res.Errors) != 0 {
		t.Errorf("small object: %v %+v", err, res.Errors)
	}
}

// hostilePod returns a Pod whose one container adds and drops n
// capabilities: a valid API object that the CEL cost tracker walks in
// time quadratic in n.
func hostilePod(n int) *k8s.Object {
	caps := make([]any, n)
	for i := range caps {
		caps[i] = fmt.Sprintf("CAP_%d", i)
	}
	return &k8s.Object{Content: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "hostile", "namespace": "shop"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27",
			"securityContext": map[string]any{"capabilities": map[string]any{"add": caps, "drop": caps}}}}}}}
}

// TestObjectTimeout checks that every built-in rule on a pod with 100,000
// capabilities (which would take minutes) stops at the object's time
// limit, and that the rules it stopped or left are reported as errors
// naming the rule and the object, not passed.
func TestObjectTimeout(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := rs.Evaluate(context.Background(), []*k8s.Object{hostilePod(100000)}, EvalOptions{ObjectTimeout: time.Second})
		done <- outcome{res, err}
	}()
	var res *Result
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatal(o.err)
		}
		res = o.res
	case <-time.After(3 * time.Minute): // a hang guard, not a timing claim
		t.Fatal("evaluation of the hostile pod did not stop")
	}
	if len(res.Errors) == 0 {
		t.Fatal("no rule error: the time limit was not reported")
	}
	stopped, limited := false, false
	for _, e := range res.Errors {
		if e.RuleID == "" || !strings.Contains(e.Message, e.RuleID) || !strings.Contains(e.Message, "Pod shop/hostile") {
			t.Errorf("error does not name its rule and object: %+v", e)
		}
		stopped = stopped || strings.Contains(e.Message, "evaluation stopped after 1s")
		limited = limited || strings.Contains(e.Message, "not evaluated: the rules before it used up the time limit")
		i := slices.IndexFunc(res.Tallies, func(t finding.RuleTally) bool { return t.RuleID == e.RuleID })
		if res.Tallies[i].Evaluated != 0 && !slices.ContainsFunc(res.Findings, func(f finding.Finding) bool { return f.RuleID == e.RuleID }) {
			t.Errorf("%s: counted as evaluated although it errored", e.RuleID)
		}
	}
	if !stopped || !limited {
		t.Errorf("want the rule that was stopped and the rules left reported: %+v", res.Errors)
	}
}

// TestObjectCostBudget checks that rules left when an object's cost
// budget is spent are reported, not passed, and that the budget is per
// object.
func TestObjectCostBudget(t *testing.T) {
	rule := func(id string) *Rule {
		return &Rule{ID: id, Title: "t", Remediation: "r",
			Match:       Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
			Validations: []Validation{{Expression: "object.data.all(k, object.data[k] != 'secret')"}}}
	}
	rs, err := Compile([]*Rule{rule("T-BUDGET-1"), rule("T-BUDGET-2")})
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {a: "1", b: "2", c: "3", d: "4"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
data: {a: "1"}
`)
	// The first rule on a costs more than 10; on b less.
	res, err := rs.Evaluate(context.Background(), objs, EvalOptions{ObjectCostBudget: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].RuleID != "T-BUDGET-2" || res.Errors[0].Resource.Name != "a" ||
		!strings.Contains(res.Errors[0].Message, "cost budget") {
		t.Fatalf("errors = %+v, want T-BUDGET-2 on a not evaluated for the cost budget", res.Errors)
	}
	if got := []int{res.Tallies[0].Evaluated, res.Tallies[1].Evaluated}; got[0] != 2 || got[1] != 1 {
		t.Errorf("evaluated = %v, want [2 1]", got)
	}
	res, err = rs.Evaluate(context.Background(), objs, EvalOptions{})
	if err != nil || len(res.Errors) != 0 {
		t.Errorf("default budget: %v %+v", err, res.Errors)
	}
}
