package screen

import (
	"fmt"
	"slices"
	"testing"

	"github.com/corazawaf/coraza/v3/types/variables"
)

// levelRule is a CRS paranoia level check: skip to marker in phase when
// the detection level is below n.
func levelRule(id, phase, n int, marker string) Rule {
	return Rule{ID: id, Phase: phase, OperatorName: "@lt", OperatorData: fmt.Sprint(n), SkipAfter: marker,
		Targets: []Target{{Variable: variables.TX, Key: "detection_paranoia_level"}}}
}

func TestUnreachable(t *testing.T) {
	rules := []Rule{
		levelRule(1, 1, 1, "END"), levelRule(2, 2, 1, "END"),
		{ID: 10, Phase: 1}, {ID: 11, Phase: 2},
		levelRule(3, 1, 2, "END"), levelRule(4, 2, 2, "END"),
		{ID: 20, Phase: 1}, {ID: 21, Phase: 2},
		levelRule(5, 1, 3, "END"), levelRule(6, 2, 3, "END"),
		{ID: 30, Phase: 1}, {ID: 31, Phase: 2},
		{SecMark: "END"},
		{ID: 40, Phase: 1},
		// Not a level check: another variable.
		{ID: 41, Phase: 1, OperatorName: "@lt", OperatorData: "2", SkipAfter: "X",
			Targets: []Target{{Variable: variables.TX, Key: "blocking_paranoia_level"}}},
		{ID: 42, Phase: 1},
		{SecMark: "X"},
	}
	for _, c := range []struct {
		level int
		want  []int
	}{
		{1, []int{1, 2, 3, 4, 5, 6, 20, 21, 30, 31}},
		{2, []int{1, 2, 3, 4, 5, 6, 30, 31}},
		{4, []int{1, 2, 3, 4, 5, 6}},
	} {
		if got := Unreachable(rules, c.level); !slices.Equal(got, c.want) {
			t.Errorf("level %d: %v, want %v", c.level, got, c.want)
		}
	}
	// A skip range covers only its own phase.
	rules = []Rule{levelRule(1, 2, 2, "END"), {ID: 10, Phase: 1}, {ID: 11, Phase: 2}, {SecMark: "END"}}
	if got := Unreachable(rules, 1); !slices.Equal(got, []int{1, 11}) {
		t.Errorf("phase 2 check: %v, want [1 11]", got)
	}
}

func TestVerdictsBounded(t *testing.T) {
	var c verdicts
	first := verdictKey{phase: 1, source: 2, key: "k", value: "v"}
	c.add(first)
	if !c.clean(first) || c.clean(verdictKey{phase: 1, source: 2, key: "k", value: "w"}) {
		t.Fatal("a recorded value is not clean, or an unrecorded one is")
	}
	for i := range 3 * maxVerdicts {
		c.add(verdictKey{value: fmt.Sprint(i)})
	}
	if n := len(c.cur) + len(c.old); n > maxVerdicts {
		t.Errorf("%d verdicts kept, at most %d allowed", n, maxVerdicts)
	}
	if c.clean(first) {
		t.Error("the oldest verdict survived three times the capacity")
	}
	if !c.clean(verdictKey{value: fmt.Sprint(3*maxVerdicts - 1)}) {
		t.Error("the newest verdict was dropped")
	}
	if cacheable("k", string(make([]byte, maxVerdictBytes))) {
		t.Error("an oversized value is cacheable")
	}
}
