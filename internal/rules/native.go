package rules

import (
	"context"
	"fmt"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// Outcome is one engine's verdict on one resource for one check: the
// engine decides, the catalogue supplies the check's metadata (see
// Catalogue.Finding).
type Outcome struct {
	Resource finding.Resource
	// Location is where the resource was written; nil when unknown.
	Location *finding.Location
	// Failed is true when the resource violates the check.
	Failed bool
	// Message says what is wrong with this resource (failed outcomes).
	Message string
	// Remediation, when set, replaces the catalogue's remediation with a
	// fix specific to this resource.
	Remediation string
}

// NativeCheck is the Go implementation of a native rule that judges a set
// of objects, such as a scan's input or one fixture file: the objects are
// each other's context (a workload and the NetworkPolicies of its
// namespace). Implementations are safe for concurrent use.
type NativeCheck interface {
	// ID returns the catalogue ID of the check.
	ID() string
	// Evaluate returns one outcome per resource judged, passed or failed.
	// Objects the check does not apply to give no outcome. It returns an
	// error only when ctx is done.
	Evaluate(ctx context.Context, objs []*k8s.Object) ([]Outcome, error)
}

// EvaluateNative runs native checks on objs and returns their findings
// and tallies (checks the catalogue lacks are an error).
func EvaluateNative(ctx context.Context, cat *Catalogue, checks []NativeCheck, objs []*k8s.Object) (*Result, error) {
	res := &Result{}
	for _, c := range checks {
		r, ok := cat.Lookup(c.ID())
		if !ok {
			return nil, fmt.Errorf("native check %s is not in the catalogue", c.ID())
		}
		outcomes, err := c.Evaluate(ctx, objs)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID(), err)
		}
		tally := finding.RuleTally{RuleID: r.ID, Controls: r.Controls, Evaluated: len(outcomes)}
		for _, o := range outcomes {
			if o.Failed {
				tally.Failed++
				res.Findings = append(res.Findings, r.finding(r.ID, o))
			}
		}
		res.Tallies = append(res.Tallies, tally)
	}
	return res, nil
}
