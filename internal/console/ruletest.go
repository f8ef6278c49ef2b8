package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

// maxRuleTest bounds the rule file and the fixture of a rule test.
const maxRuleTest = 256 << 10

// RuleTestRequest is the body of POST /console/api/rules/test.
type RuleTestRequest struct {
	// Rules is a rule file (docs/rules.md), one rule a YAML document.
	Rules string `json:"rules"`
	// Fixture holds the Kubernetes objects to test them on (YAML).
	Fixture string `json:"fixture"`
}

// RuleTestResult is its answer.
type RuleTestResult struct {
	Findings []finding.Finding   `json:"findings"`
	Tallies  []finding.RuleTally `json:"tallies"`
	Errors   []string            `json:"errors"`
}

// testRules evaluates CEL rules against a fixture on the server, with the
// rule engine's own cost and time bounds. It changes nothing.
func (s *Server) testRules(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	var req RuleTestRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*maxRuleTest+1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "rule test: want {\"rules\": \"...\", \"fixture\": \"...\"}: %v", err)
		return
	}
	if len(req.Rules) > maxRuleTest || len(req.Fixture) > maxRuleTest {
		writeError(w, http.StatusRequestEntityTooLarge, "rule test: rules and fixture are at most %d bytes each", maxRuleTest)
		return
	}
	res, err := evaluateRules(ctx, []byte(req.Rules), []byte(req.Fixture))
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func evaluateRules(ctx context.Context, ruleText, fixture []byte) (*RuleTestResult, error) {
	rs, err := rules.ParseRules(ruleText, "rules.yaml")
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("rules.yaml: no rule")
	}
	set, err := rules.Compile(rs)
	if err != nil {
		return nil, err
	}
	objs, problems := k8s.Decode(fixture, "fixture.yaml")
	out := &RuleTestResult{Findings: []finding.Finding{}, Errors: []string{}}
	for _, p := range problems {
		out.Errors = append(out.Errors, p.Error())
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("fixture.yaml: no Kubernetes object %v", out.Errors)
	}
	res, err := set.Evaluate(ctx, objs, rules.EvalOptions{})
	if err != nil {
		return nil, err
	}
	out.Findings = append(out.Findings, res.Findings...)
	out.Tallies = res.Tallies
	for _, p := range res.Errors {
		out.Errors = append(out.Errors, fmt.Sprintf("%s: %s", p.RuleID, p.Message))
	}
	return out, nil
}
