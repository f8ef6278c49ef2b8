package finding

import (
	"slices"
	"strings"
)

// RuleTally counts one rule's checks in a run: a check is one rule applied
// to one resource. Failed counts the resources with at least one finding
// that is not suppressed by an exception.
type RuleTally struct {
	RuleID    string
	Controls  []string
	Evaluated int
	Failed    int
}

// ControlScore is the share of passed checks of one control.
type ControlScore struct {
	ID        string  `json:"id"`
	Evaluated int     `json:"evaluated"`
	Failed    int     `json:"failed"`
	Score     float64 `json:"score"`
}

// FrameworkScore is one framework's compliance score (0 to 100) and the
// scores of its controls that were evaluated.
type FrameworkScore struct {
	Framework string         `json:"framework"`
	Score     float64        `json:"score"`
	Controls  []ControlScore `json:"controls"`
}

// Scores computes compliance scores from rule tallies:
//
//	control score   = 100 × (checks passed) / (checks evaluated), over every
//	                  rule that implements the control;
//	framework score = the mean of its control scores, over controls with at
//	                  least one check.
//
// A suppressed finding counts as passed. Frameworks and controls with no
// checks are left out. The result is sorted by framework, controls by ID.
func Scores(tallies []RuleTally) []FrameworkScore {
	controls := map[string]*ControlScore{}
	for _, t := range tallies {
		if t.Evaluated == 0 {
			continue
		}
		for _, c := range t.Controls {
			cs := controls[c]
			if cs == nil {
				cs = &ControlScore{ID: c}
				controls[c] = cs
			}
			cs.Evaluated += t.Evaluated
			cs.Failed += t.Failed
		}
	}
	byFramework := map[string]*FrameworkScore{}
	for id, cs := range controls {
		cs.Score = round1(100 * float64(cs.Evaluated-cs.Failed) / float64(cs.Evaluated))
		fw, _, _ := strings.Cut(id, ":")
		fs := byFramework[fw]
		if fs == nil {
			fs = &FrameworkScore{Framework: fw}
			byFramework[fw] = fs
		}
		fs.Controls = append(fs.Controls, *cs)
	}
	out := make([]FrameworkScore, 0, len(byFramework))
	for _, fs := range byFramework {
		slices.SortFunc(fs.Controls, func(a, b ControlScore) int { return compareControlIDs(a.ID, b.ID) })
		sum := 0.0
		for _, c := range fs.Controls {
			sum += c.Score
		}
		fs.Score = round1(sum / float64(len(fs.Controls)))
		out = append(out, *fs)
	}
	slices.SortFunc(out, func(a, b FrameworkScore) int { return strings.Compare(a.Framework, b.Framework) })
	return out
}

// compareControlIDs orders "CIS:5.2.10" after "CIS:5.2.9".
func compareControlIDs(a, b string) int {
	pa, pb := splitNumeric(a), splitNumeric(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		if isDigits(x) && isDigits(y) && len(x) != len(y) {
			return len(x) - len(y)
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

func splitNumeric(s string) []string {
	var parts []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigit(s[i]) != isDigit(s[i-1]) {
			parts = append(parts, s[start:i])
			start = i
		}
	}
	return parts
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool { return s != "" && isDigit(s[0]) }

func round1(f float64) float64 {
	return float64(int64(f*10+0.5)) / 10
}
