package posture

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
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
//
// Each unit of the input (k8s.Unit: a path argument's plain manifests, a
// Helm release, a kustomization) is judged on its own, as if applied alone
// to a cluster: inventory rules and native checks (NetworkPolicy
// isolation) see only the objects of the unit, and every finding carries
// its unit. Objects without a unit (a live cluster, or all inputs treated
// as one cluster) are judged together. Tallies add up over the units.
func EvaluateWith(ctx context.Context, checks Checks, loaded *k8s.Loaded, opts EvalOptions) (pipeline.Input, error) {
	cat, err := checks.catalogue()
	if err != nil {
		return pipeline.Input{}, err
	}
	var in pipeline.Input
	for _, e := range loaded.Errors {
		in.Errors = append(in.Errors, finding.Problem{File: e.File, Line: e.Line, Message: e.Err.Error()})
	}
	for _, w := range loaded.Warnings {
		in.Warnings = append(in.Warnings, finding.Problem{File: w.File, Line: w.Line, Message: w.Err.Error()})
	}
	in.Excluded = loaded.Excluded
	units := splitUnits(loaded.Objects)
	managed, total := 0, 0
	for _, u := range units {
		var n int
		u.judged, n = judgedObjects(u.all)
		managed += n
		total += len(u.judged)
	}
	if managed > 0 {
		slog.InfoContext(ctx, "objects managed by a scanned controller are judged through it", "count", managed)
	}
	tallies := map[string]int{} // rule ID → index in in.Tallies
	addTallies := func(ts []finding.RuleTally) {
		for _, t := range ts {
			i, ok := tallies[t.RuleID]
			if !ok {
				tallies[t.RuleID] = len(in.Tallies)
				in.Tallies = append(in.Tallies, t)
				continue
			}
			in.Tallies[i].Evaluated += t.Evaluated
			in.Tallies[i].Failed += t.Failed
		}
	}
	var judged atomic.Int64
	for _, u := range units {
		in.Objects = append(in.Objects, u.judged...)
		in.Resources += len(u.judged)
		first := len(in.Findings)
		if rs := checks.Rules; rs != nil {
			// Inventory rules see every object of the unit, also those
			// judged through their controller.
			var inv *rules.Inventory
			if rs.UsesInventory() {
				inv = rules.NewInventory(u.all)
			}
			eo := rules.EvalOptions{Workers: opts.Workers, Inventory: inv}
			if opts.Progress != nil {
				base := judged.Load()
				eo.Progress = func(done int) { opts.Progress(int(base)+done, total) }
			}
			res, err := rs.Evaluate(ctx, u.judged, eo)
			if err != nil {
				return pipeline.Input{}, fmt.Errorf("evaluate rules: %w", err)
			}
			judged.Add(int64(len(u.judged)))
			if in.Findings == nil {
				in.Findings = res.Findings // one unit: no copy of the findings
			} else {
				in.Findings = append(in.Findings, res.Findings...)
			}
			in.Errors = append(in.Errors, res.Errors...)
			addTallies(res.Tallies)
		}
		notJudged, skipped := notJudged(checks, u.judged)
		in.NotJudged += notJudged
		in.Warnings = append(in.Warnings, skipped...)
		if len(checks.Native) > 0 {
			// Native checks build their own view of every object of the
			// unit (a network model resolves owners itself).
			res, err := rules.EvaluateNative(ctx, cat, checks.Native, u.all)
			if err != nil {
				return pipeline.Input{}, err
			}
			in.Findings = append(in.Findings, res.Findings...)
			addTallies(res.Tallies)
		}
		if fu := findingUnit(u.unit); fu != nil {
			for i := first; i < len(in.Findings); i++ {
				in.Findings[i].Unit = fu
			}
		}
	}
	if rs := checks.Rules; rs != nil {
		in.Checks += rs.Len()
	}
	in.Checks += len(checks.Native)
	return in, nil
}

// unitObjects are the objects of one unit of input: all of them, and
// those judged (not made by a controller of the unit).
type unitObjects struct {
	unit        *k8s.Unit
	all, judged []*k8s.Object
}

// splitUnits groups objects by unit, in order of first appearance.
func splitUnits(objs []*k8s.Object) []*unitObjects {
	if len(objs) > 0 && objs[0].Unit == objs[len(objs)-1].Unit {
		// Likely one unit (a single path, a cluster): no copy unless not.
		u := objs[0].Unit
		one := true
		for _, o := range objs {
			if o.Unit != u {
				one = false
				break
			}
		}
		if one {
			return []*unitObjects{{unit: u, all: objs}}
		}
	}
	var out []*unitObjects
	index := map[*k8s.Unit]*unitObjects{}
	for _, o := range objs {
		g := index[o.Unit]
		if g == nil {
			g = &unitObjects{unit: o.Unit}
			index[o.Unit] = g
			out = append(out, g)
		}
		g.all = append(g.all, o)
	}
	return out
}

// findingUnit is the unit as findings carry it; nil for no unit.
func findingUnit(u *k8s.Unit) *finding.Unit {
	if u == nil {
		return nil
	}
	return &finding.Unit{Kind: string(u.Kind), Path: u.Path, Namespace: u.Namespace}
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
