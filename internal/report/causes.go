package report

import "github.com/kordon-dev/kordon/internal/finding"

// Grouping by root cause, for the formats people read (table, HTML): the
// findings of two or more rules that report symptoms of one cause on one
// resource are shown together, under the cause and its one remediation.
// Counts and the summary stay per finding.

// entry is what a list of findings shows in one place: a finding on its
// own, or the findings of one root cause on one resource.
type entry struct {
	// cause is nil for a finding shown on its own.
	cause *Cause
	// findings holds the one finding, or the cause's findings in report
	// order (worst first).
	findings []finding.Finding
	worst    finding.Severity
}

// resourceKey identifies the resource of a finding as written in one file:
// the unit the table lists findings under.
func resourceKey(f finding.Finding) string {
	file := ""
	if f.Location != nil {
		file = f.Location.File
	}
	return f.Resource.APIVersion + "\x00" + f.Resource.String() + "\x00" + file + "\x00" + f.Unit.String()
}

// causeOf returns the root cause of a finding's rule, or nil.
func causeOf(f finding.Finding, docs map[string]RuleDoc) *Cause {
	c := docs[f.RuleID].Cause
	if c == nil || c.ID == "" {
		return nil
	}
	return c
}

// groupByCause returns the findings fs, in their order, as entries: the
// findings whose rules share a cause with another rule that has findings on
// the same resource become one entry, placed where the first of them was;
// every other finding is an entry of its own. A cause with findings of one
// rule only (one or several) groups nothing.
func groupByCause(fs []finding.Finding, docs map[string]RuleDoc) []entry {
	type key struct{ resource, cause string }
	rulesOf := map[key]map[string]bool{}
	for _, f := range fs {
		if c := causeOf(f, docs); c != nil {
			k := key{resourceKey(f), c.ID}
			if rulesOf[k] == nil {
				rulesOf[k] = map[string]bool{}
			}
			rulesOf[k][f.RuleID] = true
		}
	}
	out := make([]entry, 0, len(fs))
	at := map[key]int{}
	for _, f := range fs {
		if c := causeOf(f, docs); c != nil {
			k := key{resourceKey(f), c.ID}
			if len(rulesOf[k]) > 1 {
				if i, ok := at[k]; ok {
					out[i].findings = append(out[i].findings, f)
					out[i].worst = max(out[i].worst, f.Severity)
					continue
				}
				at[k] = len(out)
				out = append(out, entry{cause: c, findings: []finding.Finding{f}, worst: f.Severity})
				continue
			}
		}
		out = append(out, entry{findings: []finding.Finding{f}, worst: f.Severity})
	}
	return out
}
