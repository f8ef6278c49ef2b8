package rules

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// FixtureResult is the outcome of one fixture file for one rule.
type FixtureResult struct {
	RuleID string
	File   string
	// Want is "pass" or "fail", from the file name.
	Want string
	// Findings is how many findings the rule produced on the file's objects.
	Findings int
	// Evaluated is how many of the file's objects the rule applied to.
	Evaluated int
	// Problem is set when the fixture did not behave as expected.
	Problem string
}

// OK reports whether the fixture behaved as expected.
func (r FixtureResult) OK() bool { return r.Problem == "" }

// TestFixtures runs each rule against its fixtures in fsys under
// fixtures/<RULE-ID>/: every file named pass*.yaml must give no finding and no
// error (and the rule must apply to at least one of its objects, so that the
// pass is not vacuous); every fail*.yaml must give at least one finding. A
// rule with no pass or no fail fixture is reported as a problem. Objects of
// one fixture file are each other's inventory.
func TestFixtures(ctx context.Context, rs *RuleSet, fsys fs.FS) ([]FixtureResult, error) {
	var out []FixtureResult
	for _, cr := range rs.rules {
		id := cr.rule.ID
		dir := path.Join(FixturesDir, id)
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			out = append(out, FixtureResult{RuleID: id, File: dir, Problem: "no fixtures folder " + dir})
			continue
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		var pass, fail int
		for _, e := range entries {
			name := e.Name()
			var want string
			switch {
			case e.IsDir() || (path.Ext(name) != ".yaml" && path.Ext(name) != ".yml"):
				continue
			case strings.HasPrefix(name, "pass"):
				want, pass = "pass", pass+1
			case strings.HasPrefix(name, "fail"):
				want, fail = "fail", fail+1
			default:
				out = append(out, FixtureResult{RuleID: id, File: path.Join(dir, name), Problem: "fixture file names start with pass or fail"})
				continue
			}
			r, err := runFixture(ctx, rs, cr, fsys, path.Join(dir, name), want)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		if pass == 0 || fail == 0 {
			out = append(out, FixtureResult{RuleID: id, File: dir, Problem: fmt.Sprintf("want at least one pass and one fail fixture, have %d and %d", pass, fail)})
		}
	}
	return out, nil
}

func runFixture(ctx context.Context, rs *RuleSet, cr *compiledRule, fsys fs.FS, file, want string) (FixtureResult, error) {
	res := FixtureResult{RuleID: cr.rule.ID, File: file, Want: want}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return res, fmt.Errorf("read fixture %s: %w", file, err)
	}
	objs, ierrs := k8s.Decode(data, file)
	if len(ierrs) > 0 {
		res.Problem = "bad fixture: " + ierrs[0].Error()
		return res, nil
	}
	one := *cr
	one.index = 0
	single := &RuleSet{rules: []*compiledRule{&one}, prelude: rs.prelude, conditions: rs.conditions,
		usesInventory: cr.usesInventory, byKind: map[[2]string][]*compiledRule{}}
	for _, gk := range k8s.WorkloadKinds() {
		single.byKind[gk] = single.match(gk[0], gk[1])
	}
	result, err := single.Evaluate(ctx, objs, EvalOptions{Workers: 1})
	if err != nil {
		return res, err
	}
	res.Findings = len(result.Findings)
	res.Evaluated = result.Tallies[0].Evaluated
	switch {
	case len(result.Errors) > 0:
		res.Problem = "evaluation error: " + result.Errors[0].Message
	case res.Evaluated == 0:
		res.Problem = "the rule applies to none of the fixture's objects"
	case want == "pass" && res.Findings > 0:
		res.Problem = fmt.Sprintf("want no finding, got %d: %s", res.Findings, result.Findings[0].Message)
	case want == "fail" && res.Findings == 0:
		res.Problem = "want a finding, got none"
	}
	return res, nil
}
