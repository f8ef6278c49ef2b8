package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/rules"
)

// TestCauseFixtures backs every root cause of the built-in catalogue with
// evidence that its rules fail together and that its one remediation clears
// them together: testdata/causes/<id>/fail.yaml must fail every rule of the
// cause, at least two of them on each resource that fails any; fixed.yaml,
// the same objects with the remediation applied, must fail none of them
// (and each must still judge some object of it).
func TestCauseFixtures(t *testing.T) {
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.NewCatalogue(all)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	evaluate := func(t *testing.T, file string) (*rules.Result, map[string]int) {
		t.Helper()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		objs, errs := k8s.Decode(data, file)
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		res, err := rs.Evaluate(context.Background(), objs, rules.EvalOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %s", file, res.Errors[0].Message)
		}
		native, err := rules.EvaluateNative(context.Background(), cat, isolation.Checks(), objs)
		if err != nil {
			t.Fatal(err)
		}
		res.Findings = append(res.Findings, native.Findings...)
		evaluated := map[string]int{}
		for _, tally := range append(res.Tallies, native.Tallies...) {
			evaluated[tally.RuleID] += tally.Evaluated
		}
		return res, evaluated
	}
	dirs, err := os.ReadDir(filepath.Join("testdata", "causes"))
	if err != nil {
		t.Fatal(err)
	}
	unused := map[string]bool{}
	for _, d := range dirs {
		unused[d.Name()] = true
	}
	for _, c := range cat.Causes() {
		delete(unused, c.ID)
		t.Run(c.ID, func(t *testing.T) {
			dir := filepath.Join("testdata", "causes", c.ID)
			res, _ := evaluate(t, filepath.Join(dir, "fail.yaml"))
			fired := map[string]bool{}
			byResource := map[string][]string{}
			for _, f := range inCause(res.Findings, c) {
				fired[f.RuleID] = true
				key := f.Resource.String()
				if !slices.Contains(byResource[key], f.RuleID) {
					byResource[key] = append(byResource[key], f.RuleID)
				}
			}
			for _, id := range c.Rules {
				if !fired[id] {
					t.Errorf("fail.yaml does not fail %s", id)
				}
			}
			for res, ids := range byResource {
				if len(ids) < 2 {
					t.Errorf("fail.yaml: %s fails only %v, which no report groups", res, ids)
				}
			}
			res, evaluated := evaluate(t, filepath.Join(dir, "fixed.yaml"))
			for _, f := range inCause(res.Findings, c) {
				t.Errorf("fixed.yaml still fails %s on %s: %s", f.RuleID, f.Resource, f.Message)
			}
			for _, id := range c.Rules {
				if evaluated[id] == 0 {
					t.Errorf("fixed.yaml: %s judges none of its objects, so its pass proves nothing", id)
				}
			}
		})
	}
	var extra []string
	for d := range unused {
		extra = append(extra, d)
	}
	sort.Strings(extra)
	for _, d := range extra {
		t.Errorf("testdata/causes/%s belongs to no cause", d)
	}
}

// inCause returns the findings of the cause's rules.
func inCause(fs []finding.Finding, c *rules.Cause) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if slices.Contains(c.Rules, f.RuleID) {
			out = append(out, f)
		}
	}
	return out
}
