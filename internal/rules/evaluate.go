package rules

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// Bounds on the evaluation of all rules on one object. Each expression is
// also bounded by CostLimit, as in the API server.
const (
	// DefaultObjectTimeout is how long the rules together may take on one
	// object. No ordinary object comes near it (a workload takes well
	// under a millisecond); it stops objects that would take minutes, such
	// as a container with 100,000 capabilities, whose lists the CEL cost
	// tracker walks in quadratic time.
	DefaultObjectTimeout = 10 * time.Second
	// DefaultObjectCostBudget is the CEL cost all rules together may spend
	// on one object: what the API server allows one admission policy on
	// one object (celconfig.RuntimeCELCostBudget). The built-in rules
	// spend about 12,000 on a large workload and 320,000 on a
	// kube-apiserver static pod that sets every flag.
	DefaultObjectCostBudget = celconfig.RuntimeCELCostBudget
)

// EvalOptions configures Evaluate.
type EvalOptions struct {
	// Workers is the number of objects evaluated in parallel; 0 means
	// GOMAXPROCS.
	Workers int
	// Inventory is what inventory rules see; nil means the evaluated objects.
	Inventory *Inventory
	// ObjectTimeout bounds the time all rules together may take on one
	// object; 0 means DefaultObjectTimeout, a negative value no bound.
	ObjectTimeout time.Duration
	// ObjectCostBudget bounds the CEL cost all rules together may spend on
	// one object; 0 means DefaultObjectCostBudget. Rules left when the time
	// or the budget is used up are reported as errors on the object, so an
	// object is never silently passed.
	ObjectCostBudget uint64
	// Progress, when set, is called after each object is judged with the
	// number of objects judged so far. It is called from several
	// goroutines at once.
	Progress func(done int)
}

func (o *EvalOptions) objectTimeout() time.Duration {
	if o.ObjectTimeout == 0 {
		return DefaultObjectTimeout
	}
	return o.ObjectTimeout
}

func (o *EvalOptions) objectCostBudget() uint64 {
	if o.ObjectCostBudget == 0 {
		return DefaultObjectCostBudget
	}
	return o.ObjectCostBudget
}

// Result is the outcome of evaluating a rule set.
type Result struct {
	// Findings in object order, then rule order.
	Findings []finding.Finding
	// Tallies has one entry per rule, in rule order: how many objects the
	// rule was evaluated on, and how many failed it.
	Tallies []finding.RuleTally
	// Errors are evaluations that failed (a CEL runtime error or the cost
	// limit); the object is neither passed nor failed for that rule.
	Errors []finding.Problem
}

type objectResult struct {
	findings []finding.Finding
	errors   []finding.Problem
	// evaluated and failed list the indexes of rules run on and failed by
	// the object.
	evaluated, failed []int
}

// Evaluate runs every applicable rule on every object, in parallel. It
// returns early only when ctx is cancelled.
func (rs *RuleSet) Evaluate(ctx context.Context, objs []*k8s.Object, opts EvalOptions) (*Result, error) {
	inv := opts.Inventory
	if inv == nil && rs.usesInventory {
		inv = NewInventory(objs)
	}
	applicable := rs.applicable(objs)

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]objectResult, len(objs))
	values := rs.newPerScanValues()
	var done atomic.Int64
	judge := func(i int, vals *objectValues) {
		o := objs[i]
		vals.reset()
		results[i] = rs.evaluateObject(ctx, o, applicable([2]string{o.Group(), o.Kind()}), inv, values, vals, &opts)
		if opts.Progress != nil {
			opts.Progress(int(done.Add(1)))
		}
	}
	var err error
	if workers == 1 || len(objs) == 1 {
		// One object (an admission review) or one worker: no goroutines.
		vals := newObjectValues()
		for i := range objs {
			if err = ctx.Err(); err != nil {
				break
			}
			judge(i, vals)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int, workers*4)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vals := newObjectValues()
				for i := range next {
					judge(i, vals)
				}
			}()
		}
	feed:
		for i := range objs {
			select {
			case <-ctx.Done():
				err = ctx.Err()
				break feed
			case next <- i:
			}
		}
		close(next)
		wg.Wait()
	}
	if err == nil {
		// Evaluation stops early, object by object, when ctx is done.
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return rs.merge(results), nil
}

// merge gathers the objects' results in object order. Messages built by
// messageExpressions repeat across objects (the same container name, the
// same count), so each distinct message is kept once.
func (rs *RuleSet) merge(results []objectResult) *Result {
	res := &Result{Tallies: make([]finding.RuleTally, len(rs.rules))}
	for i, cr := range rs.rules {
		res.Tallies[i] = finding.RuleTally{RuleID: cr.rule.ID, Controls: cr.rule.Controls}
	}
	n := 0
	for _, r := range results {
		n += len(r.findings)
	}
	res.Findings = make([]finding.Finding, 0, n)
	messages := map[string]string{}
	for i := range results {
		r := &results[i]
		for _, f := range r.findings {
			if m, ok := messages[f.Message]; ok {
				f.Message = m
			} else {
				messages[f.Message] = f.Message
			}
			res.Findings = append(res.Findings, f)
		}
		res.Errors = append(res.Errors, r.errors...)
		for _, i := range r.evaluated {
			res.Tallies[i].Evaluated++
		}
		for _, i := range r.failed {
			res.Tallies[i].Failed++
		}
		*r = objectResult{} // let the object's own lists go
	}
	return res
}

// applicable returns a lookup of the rules that apply to a group/kind: the
// workload kinds are matched at compile time, the other kinds of objs now.
func (rs *RuleSet) applicable(objs []*k8s.Object) func([2]string) []*compiledRule {
	var extra map[[2]string][]*compiledRule
	for _, o := range objs {
		gk := [2]string{o.Group(), o.Kind()}
		if _, ok := rs.byKind[gk]; ok {
			continue
		}
		if _, ok := extra[gk]; !ok {
			if extra == nil {
				extra = map[[2]string][]*compiledRule{}
			}
			extra[gk] = rs.match(gk[0], gk[1])
		}
	}
	return func(gk [2]string) []*compiledRule {
		if rules, ok := rs.byKind[gk]; ok {
			return rules
		}
		return extra[gk]
	}
}

// objectContext is what the expressions of one object see. Workload
// variables are evaluated at most once per object, when first used.
type objectContext struct {
	// ctx carries the object's deadline into every expression, also those
	// of variables, which CEL resolves through variablesValue.Find (an
	// interface without a context). It lives as long as the object's
	// evaluation.
	ctx context.Context
	// cost is the CEL cost spent on the object so far; budget its bound.
	cost, budget uint64
	timeout      time.Duration
	perScan      perScanValues
	vals         *objectValues // converts the object's values to CEL
	obj          *k8s.Object
	object       ref.Val
	inventory    ref.Val // nil until a rule that reads it runs
	workload     bool
	prelude      []compiledVariable
	preludeV     []ref.Val
	// shared is the activation of rules without variables of their own and
	// without inventory: built once per object.
	shared *activation
	// conditions caches match-condition results: 0 unknown, 1 true, 2
	// false, 3 error.
	conditions []uint8
	condErrs   map[int]error
}

// applies evaluates a rule's match conditions on the object (each distinct
// condition once per object). An error is returned as the rule's error.
func (oc *objectContext) applies(rs *RuleSet, cr *compiledRule) (bool, error) {
	for _, idx := range cr.conditions {
		if oc.conditions == nil {
			oc.conditions = make([]uint8, len(rs.conditions))
		}
		if oc.conditions[idx] == 0 {
			out, err := oc.eval(rs.conditions[idx], &activation{object: oc.object})
			switch {
			case err != nil:
				oc.conditions[idx] = 3
				if oc.condErrs == nil {
					oc.condErrs = map[int]error{}
				}
				oc.condErrs[idx] = err
			case out == types.True:
				oc.conditions[idx] = 1
			case out == types.False:
				oc.conditions[idx] = 2
			default:
				oc.conditions[idx] = 3
				if oc.condErrs == nil {
					oc.condErrs = map[int]error{}
				}
				oc.condErrs[idx] = fmt.Errorf("match condition returned %v, not a bool", out)
			}
		}
		switch oc.conditions[idx] {
		case 2:
			return false, nil
		case 3:
			return false, oc.condErrs[idx]
		}
	}
	return true, nil
}

// activation returns the activation for expressions that see vars.
func (oc *objectContext) activation(vars *variablesValue) *activation {
	a := &activation{object: oc.object, variables: vars}
	if vars.rule != nil && vars.rule.usesInventory {
		a.inventory = oc.inventory
	}
	return a
}

// activationFor returns the activation one rule's expressions run in.
func (oc *objectContext) activationFor(cr *compiledRule, inv *Inventory) *activation {
	if cr.usesInventory && inv != nil && oc.inventory == nil {
		oc.inventory = inv.valueFor(oc.obj)
	}
	if len(cr.variables) == 0 && !cr.usesInventory {
		if oc.shared == nil {
			oc.shared = oc.activation(newVariables(oc, nil))
		}
		return oc.shared
	}
	vars := newVariables(oc, cr)
	a := &activation{object: oc.object, variables: vars}
	if cr.usesInventory {
		a.inventory = oc.inventory
	}
	return a
}

// preludeValue returns workload variable i, computing it on first use:
// natively when possible, else with its CEL definition.
func (oc *objectContext) preludeValue(i int) ref.Val {
	if oc.preludeV[i] != nil {
		return oc.preludeV[i]
	}
	v := oc.prelude[i]
	var out ref.Val
	if v.native != nil {
		if native, ok := v.native(oc.obj); ok {
			out = oc.vals.NativeToValue(native)
		}
	}
	if out == nil {
		out = oc.evalValue(v.prog, oc.activation(newVariables(oc, nil)))
	}
	oc.preludeV[i] = out
	return out
}

// eval evaluates one expression of the object within the object's
// deadline, and adds its cost to the object's.
func (oc *objectContext) eval(p *program, act interpreter.Activation) (ref.Val, error) {
	var out ref.Val
	var det *cel.EvalDetails
	var err error
	if p.loops {
		out, det, err = p.ContextEval(oc.ctx, act)
	} else {
		out, det, err = p.Eval(act)
	}
	if det != nil {
		if c := det.ActualCost(); c != nil {
			oc.cost += *c
		}
	}
	return out, err
}

// evalValue evaluates a variable: its value, or its error as a CEL error
// value (the expressions that use it fail with it).
func (oc *objectContext) evalValue(p *program, act interpreter.Activation) ref.Val {
	out, err := oc.eval(p, act)
	if err != nil {
		return types.WrapErr(err)
	}
	return out
}

// perScanValues holds the values of per-scan variables (see
// compiledVariable.perScan), by rule index and variable index; rows of
// rules without such variables are nil. It is safe for concurrent use.
type perScanValues [][]perScanValue

type perScanValue struct {
	mu   sync.Mutex
	done bool
	val  ref.Val
	cost uint64
}

func (rs *RuleSet) newPerScanValues() perScanValues {
	var out perScanValues
	for i, cr := range rs.rules {
		if slices.ContainsFunc(cr.variables, func(v compiledVariable) bool { return v.perScan }) {
			if out == nil {
				out = make(perScanValues, len(rs.rules))
			}
			out[i] = make([]perScanValue, len(cr.variables))
		}
	}
	return out
}

// perScanValue returns per-scan variable i of cr, evaluating it on the
// first object that needs it. Every object is charged its cost, as if it
// had evaluated it. A value the object's deadline stopped is not kept.
func (oc *objectContext) perScanValue(cr *compiledRule, i int, act interpreter.Activation) ref.Val {
	e := &oc.perScan[cr.index][i]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		oc.cost += e.cost
		return e.val
	}
	before := oc.cost
	val := oc.evalValue(cr.variables[i].prog, act)
	if oc.ctx.Err() == nil {
		e.val, e.cost, e.done = val, oc.cost-before, true
	}
	return val
}

// exhausted returns why no further rule may run on the object (its time
// or its cost budget is used up), or nil.
func (oc *objectContext) exhausted() error {
	if errors.Is(oc.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the rules before it used up the time limit of one object (%v)", oc.timeout)
	}
	if oc.cost > oc.budget {
		return fmt.Errorf("the rules before it used up the CEL cost budget of one object (%d)", oc.budget)
	}
	return nil
}

// explain replaces the error of an evaluation that the object's deadline
// stopped by one that says so.
func (oc *objectContext) explain(err error) error {
	if errors.Is(oc.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("evaluation stopped after %v, the time limit of all rules on one object (the object probably holds a very long list or string)", oc.timeout)
	}
	return err
}

func (rs *RuleSet) evaluateObject(ctx context.Context, o *k8s.Object, rules []*compiledRule, inv *Inventory, values perScanValues, vals *objectValues, opts *EvalOptions) objectResult {
	var res objectResult
	if len(rules) == 0 {
		return res
	}
	scanCtx := ctx
	if t := opts.objectTimeout(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	oc := &objectContext{
		ctx:      ctx,
		perScan:  values,
		budget:   opts.objectCostBudget(),
		timeout:  opts.objectTimeout(),
		obj:      o,
		vals:     vals,
		object:   vals.NativeToValue(o.Content),
		workload: k8s.IsWorkload(o.Group(), o.Kind()),
		prelude:  rs.prelude,
		preludeV: make([]ref.Val, len(rs.prelude)),
	}
	ref := o.Ref()
	resource := finding.Resource{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
	var loc *finding.Location
	if o.Source.File != "" {
		loc = &finding.Location{File: o.Source.File, Line: o.Source.Line, NamespaceFrom: o.Source.NamespaceFrom}
	}
	for _, cr := range rules {
		if scanCtx.Err() != nil {
			break // the whole evaluation was cancelled: Evaluate reports it
		}
		idx := cr.index
		if err := oc.exhausted(); err != nil {
			res.errors = append(res.errors, skippedProblem(cr, &resource, loc, err))
			continue
		}
		ok, err := oc.applies(rs, cr)
		if err != nil {
			res.errors = append(res.errors, conditionProblem(cr, &resource, loc, oc.explain(err)))
			continue
		}
		if !ok {
			continue
		}
		act := oc.activationFor(cr, inv)
		failed, errored := false, false
		for vi, v := range cr.validations {
			out, err := oc.eval(v.prog, act)
			if err == nil && out != types.True && out != types.False {
				err = fmt.Errorf("expression returned %v, not a bool", out)
			}
			if err != nil {
				errored = true
				res.errors = append(res.errors, evalProblem(cr, vi, &resource, loc, oc.explain(err)))
				continue
			}
			if out == types.True {
				continue
			}
			failed = true
			msg, stopped := oc.message(v, act)
			if stopped != nil {
				res.errors = append(res.errors, messageProblem(cr, vi, &resource, loc, stopped))
			}
			res.findings = append(res.findings, finding.Finding{
				RuleID:      cr.rule.ID,
				Title:       cr.rule.Title,
				Severity:    cr.rule.Severity,
				Controls:    cr.rule.Controls,
				Resource:    resource,
				Location:    loc,
				Message:     msg,
				Remediation: cr.rule.Remediation,
			})
		}
		// A rule that failed to evaluate decided nothing: the object counts
		// neither as passed nor as checked, unless another validation of
		// the rule failed.
		if failed || !errored {
			res.evaluated = append(res.evaluated, idx)
		}
		if failed {
			res.failed = append(res.failed, idx)
		}
	}
	return res
}

// message evaluates a validation's messageExpression, falling back to its
// static message when the expression fails or yields an empty string, as
// the API server does. stopped is set when the object's time limit
// stopped the expression: the finding stands, but the stop is reported.
func (oc *objectContext) message(v compiledValidation, act interpreter.Activation) (msg string, stopped error) {
	if v.msgProg == nil {
		return v.message, nil
	}
	out, err := oc.eval(v.msgProg, act)
	if err != nil {
		if errors.Is(oc.ctx.Err(), context.DeadlineExceeded) {
			return v.message, oc.explain(err)
		}
		return v.message, nil
	}
	if s, ok := out.Value().(string); ok && s != "" {
		return s, nil
	}
	return v.message, nil
}

func conditionProblem(cr *compiledRule, res *finding.Resource, loc *finding.Location, err error) finding.Problem {
	p := finding.Problem{
		RuleID:   cr.rule.ID,
		Resource: res,
		Message:  fmt.Sprintf("rule %s matchConditions on %s: %v", cr.rule.ID, res, err),
	}
	if loc != nil {
		p.File, p.Line = loc.File, loc.Line
	}
	return p
}

func evalProblem(cr *compiledRule, vi int, res *finding.Resource, loc *finding.Location, err error) finding.Problem {
	p := finding.Problem{
		RuleID:   cr.rule.ID,
		Resource: res,
		Message:  fmt.Sprintf("rule %s validations[%d] on %s: %v", cr.rule.ID, vi, res, err),
	}
	if loc != nil {
		p.File, p.Line = loc.File, loc.Line
	}
	return p
}

func messageProblem(cr *compiledRule, vi int, res *finding.Resource, loc *finding.Location, err error) finding.Problem {
	p := finding.Problem{
		RuleID:   cr.rule.ID,
		Resource: res,
		Message:  fmt.Sprintf("rule %s validations[%d].messageExpression on %s: %v; the finding has the static message", cr.rule.ID, vi, res, err),
	}
	if loc != nil {
		p.File, p.Line = loc.File, loc.Line
	}
	return p
}

func skippedProblem(cr *compiledRule, res *finding.Resource, loc *finding.Location, err error) finding.Problem {
	p := finding.Problem{
		RuleID:   cr.rule.ID,
		Resource: res,
		Message:  fmt.Sprintf("rule %s on %s: not evaluated: %v", cr.rule.ID, res, err),
	}
	if loc != nil {
		p.File, p.Line = loc.File, loc.Line
	}
	return p
}
