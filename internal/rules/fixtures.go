package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
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

// fixtureJudge runs one check on the objects of one fixture file: how many
// findings and how many objects judged, and the first evaluation error.
// params are the parameter settings of the fixture (see fixtureParams).
type fixtureJudge func(ctx context.Context, objs []*k8s.Object, params []ParamSetting) (findings []finding.Finding, evaluated int, problem string, err error)

// FixtureParams reads the parameter values a fixture file of rule id is
// judged with (see fixtureParams); nil when it uses the defaults.
func FixtureParams(data []byte, id, file string) ([]ParamSetting, error) {
	return fixtureParams(data, id, file)
}

// fixtureParams reads the parameter values a fixture is judged with: a
// comment line before the first document,
//
//	# params: {trustedRegistries: [registry.example.com/]}
//
// (a YAML mapping of parameter names to values). Without one the rule's
// defaults apply.
func fixtureParams(data []byte, id, file string) ([]ParamSetting, error) {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "---" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "#")
		if !ok {
			return nil, nil
		}
		rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "params:")
		if !ok {
			continue
		}
		var values map[string]json.RawMessage
		if err := yaml.Unmarshal([]byte(rest), &values); err != nil {
			return nil, fmt.Errorf("params line: %w", err)
		}
		var out []ParamSetting
		for _, name := range slices.Sorted(maps.Keys(values)) {
			out = append(out, ParamSetting{Rule: id, Name: name, Value: values[name], Source: file + ": params " + name})
		}
		return out, nil
	}
	return nil, nil
}

// TestFixtures runs each rule of rs, and each native check, against its
// fixtures in fsys under fixtures/<RULE-ID>/: every file named pass*.yaml
// must give no finding and no error (and the check must apply to at least
// one of its objects, so that the pass is not vacuous); every fail*.yaml
// must give at least one finding. A check with no pass or no fail fixture
// is reported as a problem. Objects of one fixture file are each other's
// inventory.
func TestFixtures(ctx context.Context, rs *RuleSet, natives []NativeCheck, fsys fs.FS) ([]FixtureResult, error) {
	var out []FixtureResult
	for _, cr := range rs.rules {
		rs1 := rs.single(cr)
		judge := func(ctx context.Context, objs []*k8s.Object, params []ParamSetting) ([]finding.Finding, int, string, error) {
			run := rs1
			if len(params) > 0 {
				set, err := SetParams([]*Rule{cr.rule}, params)
				if err != nil {
					return nil, 0, "bad params line: " + err.Error(), nil
				}
				if run, err = Compile(set); err != nil {
					return nil, 0, "params line: " + err.Error(), nil
				}
			}
			result, err := run.Evaluate(ctx, objs, EvalOptions{Workers: 1})
			if err != nil {
				return nil, 0, "", err
			}
			problem := ""
			if len(result.Errors) > 0 {
				problem = result.Errors[0].Message
			}
			return result.Findings, result.Tallies[0].Evaluated, problem, nil
		}
		rs, err := testFixtureDir(ctx, cr.rule.ID, judge, fsys)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	for _, c := range natives {
		judge := func(ctx context.Context, objs []*k8s.Object, params []ParamSetting) ([]finding.Finding, int, string, error) {
			if len(params) > 0 {
				return nil, 0, "a native check has no parameters", nil
			}
			outcomes, err := c.Evaluate(ctx, objs)
			if err != nil {
				return nil, 0, "", err
			}
			var fs []finding.Finding
			for _, o := range outcomes {
				if o.Failed {
					fs = append(fs, finding.Finding{RuleID: c.ID(), Resource: o.Resource, Message: o.Message})
				}
			}
			return fs, len(outcomes), "", nil
		}
		rs, err := testFixtureDir(ctx, c.ID(), judge, fsys)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// single returns a rule set holding only cr.
func (rs *RuleSet) single(cr *compiledRule) *RuleSet {
	one := *cr
	one.index = 0
	single := &RuleSet{rules: []*compiledRule{&one}, prelude: rs.prelude, conditions: rs.conditions,
		usesInventory: cr.usesInventory, byKind: map[[2]string][]*compiledRule{}}
	for _, gk := range k8s.WorkloadKinds() {
		single.byKind[gk] = single.match(gk[0], gk[1])
	}
	return single
}

func testFixtureDir(ctx context.Context, id string, judge fixtureJudge, fsys fs.FS) ([]FixtureResult, error) {
	var out []FixtureResult
	dir := path.Join(FixturesDir, id)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return []FixtureResult{{RuleID: id, File: dir, Problem: "no fixtures folder " + dir}}, nil
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
		r, err := runFixture(ctx, id, judge, fsys, path.Join(dir, name), want)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if pass == 0 || fail == 0 {
		out = append(out, FixtureResult{RuleID: id, File: dir, Problem: fmt.Sprintf("want at least one pass and one fail fixture, have %d and %d", pass, fail)})
	}
	return out, nil
}

func runFixture(ctx context.Context, id string, judge fixtureJudge, fsys fs.FS, file, want string) (FixtureResult, error) {
	res := FixtureResult{RuleID: id, File: file, Want: want}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return res, fmt.Errorf("read fixture %s: %w", file, err)
	}
	objs, ierrs := k8s.Decode(data, file)
	if len(ierrs) > 0 {
		res.Problem = "bad fixture: " + ierrs[0].Error()
		return res, nil
	}
	params, err := fixtureParams(data, id, file)
	if err != nil {
		res.Problem = "bad fixture: " + err.Error()
		return res, nil
	}
	findings, evaluated, problem, err := judge(ctx, objs, params)
	if err != nil {
		return res, err
	}
	res.Findings, res.Evaluated = len(findings), evaluated
	switch {
	case problem != "":
		res.Problem = "evaluation error: " + problem
	case res.Evaluated == 0:
		res.Problem = "the rule applies to none of the fixture's objects"
	case want == "pass" && res.Findings > 0:
		res.Problem = fmt.Sprintf("want no finding, got %d: %s", res.Findings, findings[0].Message)
	case want == "fail" && res.Findings == 0:
		res.Problem = "want a finding, got none"
	}
	return res, nil
}
