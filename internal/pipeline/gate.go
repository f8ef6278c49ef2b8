package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Exit codes of every command that reports findings (docs/exit-codes.md).
const (
	// ExitClean: no finding at or above the threshold, every score met.
	ExitClean = 0
	// ExitFindings: a finding at or above the threshold, or a score below
	// the minimum.
	ExitFindings = 1
	// ExitErrors: usage errors, or input or checks that could not be
	// judged (the report still holds everything that could).
	ExitErrors = 2
)

// Gate is what makes a report fail a CI job.
type Gate struct {
	// FailOn is the lowest severity that fails; ignored when Never is set.
	FailOn finding.Severity
	// Never disables failing on findings (--fail-on none).
	Never bool
	// MinScore fails a framework whose score is below it (0 disables).
	MinScore float64
	// Frameworks, when not empty, are the frameworks whose scores count
	// (those the user selected); others are ignored.
	Frameworks []string
}

// ParseFailOn reads a --fail-on value: a severity name, or none.
func ParseFailOn(s string) (sev finding.Severity, never bool, err error) {
	if strings.EqualFold(s, "none") {
		return 0, true, nil
	}
	sev, err = finding.ParseSeverity(s)
	if err != nil {
		return 0, false, fmt.Errorf("--fail-on: %w (or none)", err)
	}
	return sev, false, nil
}

// Verdict is the outcome of a gate: an exit code and, except when clean or
// when the report says it all, why.
type Verdict struct {
	Code   int
	Reason string
}

// Judge decides the exit code: errors first (2), then findings at or above
// the threshold and scores under the minimum (1).
func (g Gate) Judge(rep *finding.Report) Verdict {
	if n := len(rep.Errors); n > 0 {
		return Verdict{Code: ExitErrors, Reason: fmt.Sprintf("%d input or rule errors (listed in the report)", n)}
	}
	if max, ok := rep.MaxSeverity(); ok && !g.Never && max >= g.FailOn {
		return Verdict{Code: ExitFindings}
	}
	for _, s := range rep.Scores {
		if len(g.Frameworks) > 0 && !slices.ContainsFunc(g.Frameworks, func(fw string) bool { return strings.EqualFold(fw, s.Framework) }) {
			continue
		}
		if s.Score < g.MinScore {
			return Verdict{Code: ExitFindings, Reason: fmt.Sprintf("%s compliance score %.1f is below --min-score %.1f", s.Framework, s.Score, g.MinScore)}
		}
	}
	return Verdict{Code: ExitClean}
}
