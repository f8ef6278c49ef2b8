package posture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/version"
)

// Options configures a scan of objects that are already loaded.
type Options struct {
	// Exceptions is the exceptions list (from exceptions files).
	Exceptions []finding.Exception
	// UseAnnotations lets objects exempt themselves with the
	// exceptions.kordon.io annotations.
	UseAnnotations bool
	// Now decides which exceptions have expired; zero means time.Now().
	Now time.Time
	// Workers is the evaluation parallelism; 0 means GOMAXPROCS.
	Workers int
}

// Scan evaluates the rule set on the loaded objects and builds the report.
// Input errors and warnings of the load are carried into the report.
func Scan(ctx context.Context, rs *rules.RuleSet, loaded *k8s.Loaded, opts Options) (*finding.Report, error) {
	objs, managed := judgedObjects(loaded.Objects)
	if managed > 0 {
		slog.InfoContext(ctx, "objects managed by a scanned controller are judged through it", "count", managed)
	}
	// Inventory rules see every loaded object, also those judged through
	// their controller.
	var inv *rules.Inventory
	if rs.UsesInventory() {
		inv = rules.NewInventory(loaded.Objects)
	}
	res, err := rs.Evaluate(ctx, objs, rules.EvalOptions{Workers: opts.Workers, Inventory: inv})
	if err != nil {
		return nil, fmt.Errorf("evaluate rules: %w", err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &finding.Report{
		Tool:              finding.Tool{Name: "kordon", Version: version.Version},
		Findings:          []finding.Finding{},
		Suppressed:        []finding.Finding{},
		ExpiredExceptions: []finding.Exception{},
		Errors:            []finding.Problem{},
		Warnings:          []finding.Problem{},
	}
	for _, e := range loaded.Errors {
		rep.Errors = append(rep.Errors, finding.Problem{File: e.File, Line: e.Line, Message: e.Err.Error()})
	}
	for _, w := range loaded.Warnings {
		rep.Warnings = append(rep.Warnings, finding.Problem{File: w.File, Line: w.Line, Message: w.Err.Error()})
	}
	rep.Errors = append(rep.Errors, res.Errors...)

	annotated, annWarnings := annotationExceptions(objs, opts.UseAnnotations)
	rep.Warnings = append(rep.Warnings, annWarnings...)
	ex := finding.Exceptions{List: opts.Exceptions, UseAnnotations: opts.UseAnnotations, Now: now}
	active, suppressed, expired := ex.Apply(res.Findings, func(r finding.Resource) *finding.Annotated { return annotated[r] })
	finding.Sort(active)
	finding.Sort(suppressed)
	rep.Findings = append(rep.Findings, active...)
	rep.Suppressed = append(rep.Suppressed, suppressed...)
	rep.ExpiredExceptions = append(rep.ExpiredExceptions, expired...)
	for _, e := range expired {
		rep.Warnings = append(rep.Warnings, finding.Problem{File: e.Source, RuleID: e.Rule,
			Message: fmt.Sprintf("exception for %s expired on %s (%s); its findings are reported again", e.Rule, e.Expires, e.Reason)})
	}

	rep.Scores = finding.Scores(recount(res.Tallies, active))
	rep.Summarize(len(objs), rs.Len())
	return rep, nil
}

// judgedObjects leaves out the objects made by a workload controller that
// is itself in the input (a live cluster's Pods and ReplicaSets of a
// Deployment, Jobs of a CronJob): findings name the controller, as written
// by its owner, not what it made. It returns the objects to judge and how
// many were left out.
func judgedObjects(all []*k8s.Object) ([]*k8s.Object, int) {
	ix := k8s.NewOwnerIndex(all)
	out := make([]*k8s.Object, 0, len(all))
	for _, o := range all {
		if !ix.IsOwnedByWorkload(o) {
			out = append(out, o)
		}
	}
	return out, len(all) - len(out)
}

// recount sets each tally's Failed to the number of distinct resources with
// an unsuppressed finding of that rule.
func recount(tallies []finding.RuleTally, active []finding.Finding) []finding.RuleTally {
	failed := map[string]map[finding.Resource]bool{}
	for _, f := range active {
		m := failed[f.RuleID]
		if m == nil {
			m = map[finding.Resource]bool{}
			failed[f.RuleID] = m
		}
		m[f.Resource] = true
	}
	out := make([]finding.RuleTally, len(tallies))
	for i, t := range tallies {
		t.Failed = len(failed[t.RuleID])
		out[i] = t
	}
	return out
}

// annotationExceptions reads the exception annotations of every object.
func annotationExceptions(objs []*k8s.Object, use bool) (map[finding.Resource]*finding.Annotated, []finding.Problem) {
	out := map[finding.Resource]*finding.Annotated{}
	var warnings []finding.Problem
	for _, o := range objs {
		a, ok, err := finding.ParseAnnotations(o.Annotations())
		ref := o.Ref()
		res := finding.Resource{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
		switch {
		case err != nil:
			warnings = append(warnings, finding.Problem{File: o.Source.File, Line: o.Source.Line, Resource: &res, Message: err.Error()})
		case ok && !use:
			warnings = append(warnings, finding.Problem{File: o.Source.File, Line: o.Source.Line, Resource: &res,
				Message: "annotation exceptions are turned off; " + finding.AnnotationRules + " ignored"})
		case ok:
			out[res] = &a
		}
	}
	return out, warnings
}
