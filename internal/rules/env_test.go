package rules

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/cel-go/cel"
)

// declarations lists what an environment declares: every function with
// its overload IDs, the macros and the variables.
func declarations(env *cel.Env) map[string][]string {
	out := map[string][]string{}
	for name, fn := range env.Functions() {
		var ids []string
		for _, o := range fn.OverloadDecls() {
			ids = append(ids, o.ID())
		}
		slices.Sort(ids)
		out["func "+name] = ids
	}
	for _, m := range env.Macros() {
		out["macro "+m.MacroKey()] = nil
	}
	for _, v := range env.Variables() {
		out["var "+v.Name()] = []string{v.Type().String()}
	}
	return out
}

// TestUntrackedEnvMatches checks that the environment inventory rules run
// in declares exactly what the Kubernetes base environment declares, so
// that an expression means the same in both (only the cost tracking
// differs). It fails when k8s.io/apiserver changes its base environment:
// update newUntrackedEnv to match.
func TestUntrackedEnvMatches(t *testing.T) {
	k8sEnv, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	untracked, err := newUntrackedEnv()
	if err != nil {
		t.Fatal(err)
	}
	want, got := declarations(k8sEnv), declarations(untracked)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s is missing", k)
		} else if !slices.Equal(g, want[k]) {
			t.Errorf("%s: got %v, want %v", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s is not in the Kubernetes environment", k)
		}
	}
}
