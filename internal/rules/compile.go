package rules

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// RuleSet is a compiled, ready-to-run set of rules. It is immutable and safe
// for concurrent use.
type RuleSet struct {
	rules   []*compiledRule
	prelude []compiledVariable
	// conditions are the distinct match conditions of all rules; the same
	// expression is evaluated once per object however many rules use it.
	conditions []*program
	// byKind caches which rules apply to a group/kind.
	byKind map[[2]string][]*compiledRule
	// usesInventory is true when any rule reads the inventory.
	usesInventory bool
	// invKinds are the kinds rules read from the inventory, found once.
	invKindsOnce sync.Once
	invKinds     map[string]bool
}

type compiledRule struct {
	rule          *Rule
	index         int   // position in RuleSet.rules
	conditions    []int // indexes into RuleSet.conditions
	variables     []compiledVariable
	validations   []compiledValidation
	usesInventory bool
}

type compiledVariable struct {
	name string
	prog *program
	// native computes the value in Go when it can (prelude variables only).
	native func(*k8s.Object) (any, bool)
	// perScan is true for a variable of an inventory rule that reads
	// inventory.cluster and nothing of the object it is evaluated for
	// (neither object, nor inventory.namespace, nor a variable that does):
	// it has one value per scan, computed once.
	perScan bool
}

type compiledValidation struct {
	prog    *program
	message string
	msgProg *program // nil when the validation has no messageExpression
}

var inventoryRef = regexp.MustCompile(`\binventory\b`)

// Compile type-checks and compiles every CEL rule; native rules (decided
// by Go code, see NativeCheck) are left out of the set. Errors name the
// rule, its file and the expression; all rules are checked before
// returning.
func Compile(rules []*Rule) (*RuleSet, error) { return compile(rules, false, nil) }

// CompileOptions change how CompileWith compiles.
type CompileOptions struct {
	// Untracked, when set, selects rules whose programs are compiled
	// without the API server's runtime cost tracking (and so without its
	// per-call cost limit): their evaluation is bounded by the context's
	// deadline and EvalOptions.ObjectTimeout only, and their cost does not
	// count toward EvalOptions.ObjectCostBudget. The admission webhook
	// uses it for the built-in rules, whose cost is linear in the object's
	// size and which it bounds by the request's deadline; the tracking
	// takes about a third of their evaluation's CPU.
	Untracked func(*Rule) bool
}

// CompileWith is Compile with options.
func CompileWith(rules []*Rule, opts CompileOptions) (*RuleSet, error) {
	return compile(rules, false, opts.Untracked)
}

// compile is Compile; trackAll compiles inventory rules with cost tracking
// too (for tests that compare both ways); untrackedRule selects rules compiled
// without it (CompileOptions.Untracked).
func compile(rules []*Rule, trackAll bool, untrackedRule func(*Rule) bool) (*RuleSet, error) {
	rules = CEL(rules)
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	untracked, err := newUntrackedEnv()
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{byKind: map[[2]string][]*compiledRule{}}
	cc := newCompiler(env, untracked)
	for _, v := range preludeVariables {
		p, _, err := compileExpr(env, env, v.Expression, cel.DynType)
		if err != nil {
			return nil, fmt.Errorf("prelude variable %s: %w", v.Name, err)
		}
		rs.prelude = append(rs.prelude, compiledVariable{name: v.Name, prog: p, native: nativePrelude[v.Name]})
	}
	// Rules compile in parallel (a CEL environment is safe for concurrent
	// use); the results keep catalogue order.
	compiled := make([]*compiledRule, len(rules))
	compileErrs := make([]error, len(rules))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				compiled[i], compileErrs[i] = compileRule(cc, rules[i], trackAll, untrackedRule)
			}
		}()
	}
	for i := range rules {
		next <- i
	}
	close(next)
	wg.Wait()

	var errs []error
	conditionIndex := map[string]int{}
	for ri, r := range rules {
		cr, err := compiled[ri], compileErrs[ri]
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, c := range r.MatchConditions {
			idx, ok := conditionIndex[c.Expression]
			if !ok {
				p, _, err := compileExpr(env, env, c.Expression, cel.BoolType)
				if err != nil {
					errs = append(errs, fmt.Errorf("rule %s (%s): matchConditions[%d] (%s): %w", r.ID, r.Where(), i, c.Name, err))
					continue
				}
				idx = len(rs.conditions)
				rs.conditions = append(rs.conditions, p)
				conditionIndex[c.Expression] = idx
			}
			cr.conditions = append(cr.conditions, idx)
		}
		cr.index = len(rs.rules)
		rs.usesInventory = rs.usesInventory || cr.usesInventory
		rs.rules = append(rs.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, gk := range k8s.WorkloadKinds() {
		rs.byKind[gk] = rs.match(gk[0], gk[1])
	}
	return rs, nil
}

func compileRule(cc *compiler, r *Rule, trackAll bool, untracked func(*Rule) bool) (*compiledRule, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.Where(), what, err)
	}
	cr := &compiledRule{rule: r, usesInventory: readsInventory(r)}
	// The rule's expressions are compiled with its parameters' values
	// written in (see Inlined); cr.rule stays the rule as written.
	if len(r.Parameters) > 0 {
		var err error
		if r, err = inline(cc.env, r); err != nil {
			return nil, err
		}
	}
	// Inventory rules never run as admission policies: they are compiled
	// without the API server's cost tracking (see newUntrackedEnv).
	tracked := (!cr.usesInventory || trackAll) && (untracked == nil || !untracked(r))
	var reads []exprReads
	for i, v := range r.Variables {
		p, rd, err := cc.compile(v.Expression, cel.DynType, tracked)
		if err != nil {
			return nil, wrap(fmt.Sprintf("variables[%d] (%s)", i, v.Name), err)
		}
		cr.variables = append(cr.variables, compiledVariable{name: v.Name, prog: p})
		reads = append(reads, rd)
	}
	for i, perScan := range perScanVariables(r.Variables, reads) {
		cr.variables[i].perScan = perScan
	}
	for i, v := range r.Validations {
		p, _, err := cc.compile(v.Expression, cel.BoolType, tracked)
		if err != nil {
			return nil, wrap(fmt.Sprintf("validations[%d].expression", i), err)
		}
		cv := compiledValidation{prog: p, message: v.Message}
		if cv.message == "" {
			cv.message = r.Title
		}
		if v.MessageExpression != "" {
			mp, _, err := cc.compile(v.MessageExpression, cel.StringType, tracked)
			if err != nil {
				return nil, wrap(fmt.Sprintf("validations[%d].messageExpression", i), err)
			}
			cv.msgProg = mp
		}
		cr.validations = append(cr.validations, cv)
	}
	return cr, nil
}

// readsInventory reports whether any expression of the rule names the
// inventory.
func readsInventory(r *Rule) bool {
	for _, v := range r.Variables {
		if inventoryRef.MatchString(v.Expression) {
			return true
		}
	}
	for _, v := range r.Validations {
		if inventoryRef.MatchString(v.Expression) || inventoryRef.MatchString(v.MessageExpression) {
			return true
		}
	}
	return false
}

// perScanVariables decides which variables of a rule have one value per
// scan: those that read inventory.cluster, directly or through other such
// variables, and nothing that depends on the object evaluated.
func perScanVariables(vars []Variable, reads []exprReads) []bool {
	index := map[string]int{}
	for i, v := range vars {
		index[v.Name] = i
	}
	out := make([]bool, len(vars))
	for changed := true; changed; {
		changed = false
		for i, rd := range reads {
			if out[i] || rd.object || rd.otherInventory || rd.otherVariables {
				continue
			}
			// It must read the inventory, itself or through the variables
			// it reads, all of which must be per scan too.
			ok := rd.cluster || len(rd.variables) > 0
			for _, name := range rd.variables {
				if j, isRuleVar := index[name]; !isRuleVar || !out[j] {
					ok = false
					break
				}
			}
			if ok {
				out[i], changed = true, true
			}
		}
	}
	return out
}

// compiler compiles expressions once: rules often share expressions (the
// control-plane rules share their flag parsing), and a program is
// immutable and safe for concurrent use. It is safe for concurrent use.
type compiler struct {
	env, untracked *cel.Env
	mu             sync.Mutex
	cache          map[compileKey]compileResult
}

type compileKey struct {
	expr    string
	want    string
	tracked bool
}

type compileResult struct {
	prog  *program
	reads exprReads
	err   error
}

func newCompiler(env, untracked *cel.Env) *compiler {
	return &compiler{env: env, untracked: untracked, cache: map[compileKey]compileResult{}}
}

// compile compiles expr; tracked selects the API server's cost tracking
// and limit.
func (c *compiler) compile(expr string, want *cel.Type, tracked bool) (*program, exprReads, error) {
	key := compileKey{expr, want.String(), tracked}
	c.mu.Lock()
	r, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return r.prog, r.reads, r.err
	}
	progEnv := c.env
	if !tracked {
		progEnv = c.untracked
	}
	p, rd, err := compileExpr(c.env, progEnv, expr, want)
	c.mu.Lock()
	c.cache[key] = compileResult{p, rd, err}
	c.mu.Unlock()
	return p, rd, err
}

// compileExpr type-checks expr in env and plans it in progEnv (env, or
// the same environment without cost tracking), and says what it reads.
func compileExpr(env, progEnv *cel.Env, expr string, want *cel.Type) (*program, exprReads, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, exprReads{}, iss.Err()
	}
	if out := ast.OutputType(); want != cel.DynType && !out.IsExactType(want) && !out.IsExactType(cel.DynType) {
		return nil, exprReads{}, fmt.Errorf("expression must return %s, not %s", want, out)
	}
	// The Kubernetes base environment already gives every program the API
	// server's options: the per-call cost limit (CostLimit), its cost
	// model for the Kubernetes libraries, and optimized evaluation. Adding
	// them again would track every cost twice. The untracked environment
	// has no program options of its own.
	opts := []cel.ProgramOption{cel.InterruptCheckFrequency(celconfig.CheckFrequency)}
	if progEnv != env {
		opts = append(opts, cel.EvalOptions(cel.OptOptimize))
	}
	p, err := progEnv.Program(ast, opts...)
	if err != nil {
		return nil, exprReads{}, err
	}
	rd := readsOf(ast)
	return &program{Program: p, loops: rd.loops}, rd, nil
}

// program is a compiled expression, immutable and safe for concurrent
// use.
type program struct {
	cel.Program
	// loops is true when the expression has a comprehension, the only
	// place where CEL checks for cancellation: only such programs are
	// given the object's deadline (which costs an allocation per call).
	loops bool
}

// exprReads is what an expression reads of its activation.
type exprReads struct {
	object bool // object
	// cluster is inventory.cluster or inventory.workloads (the same for
	// every object); otherInventory any other use of inventory
	// (inventory.namespace depends on the object).
	cluster, otherInventory bool
	// variables are the variables read as variables.<name>;
	// otherVariables is any other use of variables.
	variables      []string
	otherVariables bool
	// loops is true when the expression has a comprehension.
	loops bool
}

// readsOf finds what a checked expression reads. It errs towards reading
// more: a comprehension variable named like a top-level one counts as it.
func readsOf(a *cel.Ast) exprReads {
	var rd exprReads
	idents := map[string]int{}
	selected := map[string]int{}
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			idents[e.AsIdent()]++
		case celast.ComprehensionKind:
			rd.loops = true
		case celast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == celast.IdentKind {
				switch {
				case op.AsIdent() == "inventory" && (sel.FieldName() == "cluster" || sel.FieldName() == "workloads"):
					rd.cluster = true
					selected["inventory"]++
				case op.AsIdent() == "variables":
					if !slices.Contains(rd.variables, sel.FieldName()) {
						rd.variables = append(rd.variables, sel.FieldName())
					}
					selected["variables"]++
				}
			}
		}
	}))
	rd.object = idents["object"] > 0
	rd.otherInventory = idents["inventory"] > selected["inventory"]
	rd.otherVariables = idents["variables"] > selected["variables"]
	return rd
}

// match returns the rules that apply to objects of group/kind.
func (rs *RuleSet) match(group, kind string) []*compiledRule {
	workload := k8s.IsWorkload(group, kind)
	var out []*compiledRule
	for _, cr := range rs.rules {
		if cr.rule.Match.matches(group, kind, workload) {
			out = append(out, cr)
		}
	}
	return out
}

// Rules returns the rules in the set, in catalogue order.
func (rs *RuleSet) Rules() []*Rule {
	out := make([]*Rule, len(rs.rules))
	for i, cr := range rs.rules {
		out[i] = cr.rule
	}
	return out
}

// CEL returns the rules that CEL decides (every rule that is not native).
func CEL(rules []*Rule) []*Rule {
	out := make([]*Rule, 0, len(rules))
	for _, r := range rules {
		if !r.IsNative() {
			out = append(out, r)
		}
	}
	return out
}

// Len returns the number of rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// UsesInventory reports whether any rule of the set reads the inventory,
// so that callers build one only when it is needed.
func (rs *RuleSet) UsesInventory() bool { return rs.usesInventory }

// NeedsInventory reports whether the rule with this ID reads the inventory
// (other objects of the scan), and so cannot run as an admission policy on
// its own object.
func (rs *RuleSet) NeedsInventory(id string) bool {
	i := slices.IndexFunc(rs.rules, func(cr *compiledRule) bool { return cr.rule.ID == id })
	return i >= 0 && rs.rules[i].usesInventory
}
