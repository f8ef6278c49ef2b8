package posture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Checks are the checks of one scan: compiled CEL rules and the native
// checks (Go code) selected with them, and the catalogue they come from.
type Checks struct {
	Rules  *rules.RuleSet
	Native []rules.NativeCheck
	// Catalogue supplies the native checks' metadata and every check's
	// aliases; nil means the built-in catalogue.
	Catalogue *rules.Catalogue
}

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

// EvalOptions configures EvaluateWith.
type EvalOptions struct {
	// Workers is the evaluation parallelism; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called as objects are judged by the CEL rules,
	// with how many of how many; it is called from several goroutines at
	// once.
	Progress func(done, total int)
}

// Evaluate runs the checks on the loaded objects and returns what they
// found, for the findings pipeline. Input errors and warnings of the load
// are carried along.
func Evaluate(ctx context.Context, checks Checks, loaded *k8s.Loaded, workers int) (pipeline.Input, error) {
	return EvaluateWith(ctx, checks, loaded, EvalOptions{Workers: workers})
}

// EvaluateWith is Evaluate with options.
func EvaluateWith(ctx context.Context, checks Checks, loaded *k8s.Loaded, opts EvalOptions) (pipeline.Input, error) {
	cat, err := checks.catalogue()
	if err != nil {
		return pipeline.Input{}, err
	}
	objs, managed := judgedObjects(loaded.Objects)
	if managed > 0 {
		slog.InfoContext(ctx, "objects managed by a scanned controller are judged through it", "count", managed)
	}
	in := pipeline.Input{Objects: objs, Resources: len(objs)}
	for _, e := range loaded.Errors {
		in.Errors = append(in.Errors, finding.Problem{File: e.File, Line: e.Line, Message: e.Err.Error()})
	}
	for _, w := range loaded.Warnings {
		in.Warnings = append(in.Warnings, finding.Problem{File: w.File, Line: w.Line, Message: w.Err.Error()})
	}
	if rs := checks.Rules; rs != nil {
		// Inventory rules see every loaded object, also those judged
		// through their controller.
		var inv *rules.Inventory
		if rs.UsesInventory() {
			inv = rules.NewInventory(loaded.Objects)
		}
		eo := rules.EvalOptions{Workers: opts.Workers, Inventory: inv}
		if opts.Progress != nil {
			total := len(objs)
			eo.Progress = func(done int) { opts.Progress(done, total) }
		}
		res, err := rs.Evaluate(ctx, objs, eo)
		if err != nil {
			return pipeline.Input{}, fmt.Errorf("evaluate rules: %w", err)
		}
		in.Findings, in.Tallies, in.Errors = res.Findings, res.Tallies, append(in.Errors, res.Errors...)
		in.Checks += rs.Len()
	}
	var skipped []finding.Problem
	in.NotJudged, skipped = notJudged(checks, objs)
	in.Warnings = append(in.Warnings, skipped...)
	if len(checks.Native) > 0 {
		// Native checks build their own view of every loaded object (a
		// network model resolves owners itself).
		res, err := rules.EvaluateNative(ctx, cat, checks.Native, loaded.Objects)
		if err != nil {
			return pipeline.Input{}, err
		}
		in.Findings = append(in.Findings, res.Findings...)
		in.Tallies = append(in.Tallies, res.Tallies...)
		in.Checks += len(checks.Native)
	}
	return in, nil
}

// Scan evaluates the checks on the loaded objects and builds the report
// through the findings pipeline.
func Scan(ctx context.Context, checks Checks, loaded *k8s.Loaded, opts Options) (*finding.Report, error) {
	in, err := Evaluate(ctx, checks, loaded, opts.Workers)
	if err != nil {
		return nil, err
	}
	cat, err := checks.catalogue()
	if err != nil {
		return nil, err
	}
	return pipeline.Build(in, pipeline.Options{Exceptions: opts.Exceptions, UseAnnotations: opts.UseAnnotations,
		Now: opts.Now, Names: cat.Names}), nil
}

func (c Checks) catalogue() (*rules.Catalogue, error) {
	if c.Catalogue != nil {
		return c.Catalogue, nil
	}
	return rules.BuiltinCatalogue()
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
