package pipeline

import (
	"fmt"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/version"
)

// Input is what one run of an engine produced, before exceptions.
type Input struct {
	// Findings are every violation found, in any order.
	Findings []finding.Finding
	// Tallies count, per check, the resources judged and failed; they make
	// the compliance scores. Failed is recomputed after exceptions.
	Tallies []finding.RuleTally
	// Errors are inputs that could not be read and checks that could not
	// be evaluated; Warnings are things left out on purpose.
	Errors, Warnings []finding.Problem
	// Resources is how many resources were judged; Checks how many checks
	// ran; NotJudged how many loaded resources no check applied to (each
	// named in a warning).
	Resources, Checks, NotJudged int
	// Excluded counts the files and folders left out by --exclude globs
	// (each named in a warning).
	Excluded int
	// Objects are the judged objects, whose exceptions.kordon.io
	// annotations may exempt them; nil when the engine has no objects.
	Objects []*k8s.Object
}

// Options are the user's choices that shape the report.
type Options struct {
	// Exceptions is the exceptions list (from exceptions files).
	Exceptions []finding.Exception
	// UseAnnotations lets objects exempt themselves with the
	// exceptions.kordon.io annotations.
	UseAnnotations bool
	// Now decides which exceptions have expired; zero means time.Now().
	Now time.Time
	// Names returns every ID of a check (catalogue ID and aliases), so that
	// exceptions name a check by any of its IDs; nil matches IDs as given.
	Names func(ruleID string) []string
}

// Build applies exceptions, sorts, scores and summarizes. The report's
// lists are never nil, so that JSON shows empty lists. The report holds
// the findings of in (sorted in place when none is suppressed), not a copy.
func Build(in Input, opts Options) *finding.Report {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &finding.Report{
		Tool:              finding.Tool{Name: "kordon", Version: version.Version},
		Findings:          []finding.Finding{},
		Suppressed:        []finding.Finding{},
		ExpiredExceptions: []finding.Exception{},
		Errors:            append([]finding.Problem{}, in.Errors...),
		Warnings:          append([]finding.Problem{}, in.Warnings...),
	}
	annotated, annWarnings := annotationExceptions(in.Objects, opts.UseAnnotations)
	rep.Warnings = append(rep.Warnings, annWarnings...)
	ex := finding.Exceptions{List: opts.Exceptions, UseAnnotations: opts.UseAnnotations, Now: now, Names: opts.Names}
	active, suppressed, expired := ex.Apply(in.Findings, annotated.lookup)
	finding.Sort(active)
	finding.Sort(suppressed)
	if active != nil {
		rep.Findings = active
	}
	if suppressed != nil {
		rep.Suppressed = suppressed
	}
	rep.ExpiredExceptions = append(rep.ExpiredExceptions, expired...)
	for _, e := range expired {
		rep.Warnings = append(rep.Warnings, finding.Problem{File: e.Source, RuleID: e.Rule,
			Message: fmt.Sprintf("exception for %s expired on %s (%s); its findings are reported again", e.Rule, e.Expires, e.Reason)})
	}
	rep.Scores = finding.Scores(recount(in.Tallies, active))
	rep.Summarize(in.Resources, in.Checks)
	rep.Summary.NotJudged = in.NotJudged
	rep.Summary.Excluded = in.Excluded
	return rep
}

// recount sets each tally's Failed to the number of distinct resources with
// an unsuppressed finding of that check; a resource judged in several
// units of input counts once per unit, as it is evaluated once per unit.
func recount(tallies []finding.RuleTally, active []finding.Finding) []finding.RuleTally {
	type judged struct {
		unit     finding.Unit
		resource finding.Resource
	}
	failed := map[string]map[judged]bool{}
	for _, f := range active {
		m := failed[f.RuleID]
		if m == nil {
			m = map[judged]bool{}
			failed[f.RuleID] = m
		}
		k := judged{resource: f.Resource}
		if f.Unit != nil {
			k.unit = *f.Unit
		}
		m[k] = true
	}
	out := make([]finding.RuleTally, len(tallies))
	for i, t := range tallies {
		t.Failed = len(failed[t.RuleID])
		out[i] = t
	}
	return out
}
