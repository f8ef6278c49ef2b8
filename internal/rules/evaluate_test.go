package rules

import (
	"context"
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
