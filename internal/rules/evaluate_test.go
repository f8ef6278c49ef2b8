package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
	items := make([]string, 3000)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	obj := &k8s.Object{Content: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big"}, "data": map[string]any{"items": strings.Join(items, ",")}}}
	res, err := rs.Evaluate(context.Background(), []*k8s.Object{obj}, EvalOptions{})
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
	res, err = rs.Evaluate(context.Background(), []*k8s.Object{obj}, EvalOptions{})
	if err != nil || len(res.Errors) != 0 {
		t.Errorf("small object: %v %+v", err, res.Errors)
	}
}
