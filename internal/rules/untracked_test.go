package rules

import (
	"context"
	"io/fs"
	"path"
	"reflect"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules/packs"
	"github.com/kordon-dev/kordon/internal/testgen"
)

// TestInventoryRulesUntracked checks that the inventory rules, which run
// without cost tracking and with per-scan variables computed once, judge
// exactly as with the API server's cost tracking and every variable
// evaluated per object: same findings, messages, errors and tallies, on
// generated clusters of both shapes and on every fixture file.
func TestInventoryRulesUntracked(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var inventory []*Rule
	for _, r := range CEL(all) {
		if readsInventory(r) {
			inventory = append(inventory, r)
		}
	}
	if len(inventory) < 5 {
		t.Fatalf("only %d inventory rules", len(inventory))
	}
	fast, err := compile(inventory, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	tracked, err := compile(inventory, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The reference evaluates per-scan variables per object.
	for _, cr := range tracked.rules {
		for i := range cr.variables {
			cr.variables[i].perScan = false
		}
	}
	sets := map[string][]*k8s.Object{
		"realistic": testgen.Objects(3000, 11),
		"small":     testgen.Generate(1500, 12, testgen.Small),
	}
	err = fs.WalkDir(packs.FS, FixturesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(packs.FS, p)
		if err != nil {
			return err
		}
		objs, _ := k8s.Decode(data, p)
		sets[p] = objs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, objs := range sets {
		got, err := fast.Evaluate(context.Background(), objs, EvalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := tracked.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: untracked and tracked evaluation differ:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

// TestCompileWithUntracked checks CompileOptions.Untracked: the built-in
// rules compiled without cost tracking (as the admission webhook compiles
// them) judge every fixture and generated object exactly as tracked; a
// custom rule keeps its tracking, and so its cost budget.
func TestCompileWithUntracked(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var single []*Rule
	for _, r := range CEL(all) {
		if !readsInventory(r) {
			single = append(single, r)
		}
	}
	fast, err := CompileWith(single, CompileOptions{Untracked: (*Rule).IsBuiltin})
	if err != nil {
		t.Fatal(err)
	}
	tracked, err := Compile(single)
	if err != nil {
		t.Fatal(err)
	}
	objs := testgen.Objects(300, 13)
	err = fs.WalkDir(packs.FS, FixturesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(packs.FS, p)
		if err != nil {
			return err
		}
		o, _ := k8s.Decode(data, p)
		objs = append(objs, o...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fast.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := tracked.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Findings) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("untracked and tracked built-in rules differ (%d and %d findings, %d and %d errors)",
			len(got.Findings), len(want.Findings), len(got.Errors), len(want.Errors))
	}

	// A custom rule stays tracked: a budget of 1 stops it.
	custom := &Rule{ID: "CUSTOM-1", Title: "t", Description: "d", Remediation: "r", Severity: finding.Low,
		Match:       Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
		Validations: []Validation{{Expression: "object.data.all(k, k != 'x')", Message: "m"}}}
	cm := decodeAll(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {a: b, c: d}\n")
	second := *custom
	second.ID = "CUSTOM-2"
	rs, err := CompileWith([]*Rule{custom, &second}, CompileOptions{Untracked: (*Rule).IsBuiltin})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.Evaluate(context.Background(), cm, EvalOptions{Workers: 1, ObjectCostBudget: 1})
	if err != nil || len(res.Errors) != 1 {
		t.Errorf("custom rules over a cost budget of 1: got %v %+v, want the second one skipped", err, res.Errors)
	}
}
