package rules

import (
	"context"
	"io/fs"
	"path"
	"reflect"
	"testing"

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
	fast, err := compile(inventory, false)
	if err != nil {
		t.Fatal(err)
	}
	tracked, err := compile(inventory, true)
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
