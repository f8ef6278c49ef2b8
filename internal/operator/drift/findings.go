package drift

import (
	"fmt"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Findings turns drifted objects into findings with the catalogue's
// metadata for the two rules; revision names the baseline read.
func Findings(cat *rules.Catalogue, drifted []Drift, revision string) ([]finding.Finding, error) {
	meta := map[string]*rules.Rule{}
	for _, id := range IDs() {
		r, ok := cat.Lookup(id)
		if !ok {
			return nil, fmt.Errorf("rule %s is not in the catalogue", id)
		}
		meta[id] = r
	}
	out := make([]finding.Finding, 0, len(drifted))
	for _, d := range drifted {
		o := d.Object
		id := RuleDiffers
		msg := fmt.Sprintf("differs from the baseline (%s) in %s", revision, pathList(d))
		if d.Missing {
			id = RuleMissing
			msg = fmt.Sprintf("is in the baseline (%s) but not in the cluster", revision)
		}
		r := meta[id]
		ns := ""
		if o.Namespace() != "" || o.Source.NamespaceFrom != "" {
			ns = o.AppliedNamespace()
		}
		out = append(out, finding.Finding{
			RuleID: r.ID, Title: r.Title, Severity: r.Severity, Controls: r.Controls,
			Resource: finding.Resource{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: ns, Name: o.Name()},
			Location: &finding.Location{File: o.Source.File, Line: o.Source.Line},
			Message:  o.Kind() + " " + o.Name() + " " + msg, Remediation: r.Remediation,
		})
	}
	return out, nil
}

func pathList(d Drift) string {
	s := strings.Join(d.Paths, ", ")
	if d.Total > len(d.Paths) {
		s += fmt.Sprintf(" and %d more", d.Total-len(d.Paths))
	}
	return s
}
