package rules

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sync"

	"github.com/google/cel-go/cel"
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
	conditions []cel.Program
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
	prog cel.Program
	// native computes the value in Go when it can (prelude variables only).
	native func(*k8s.Object) (any, bool)
}

type compiledValidation struct {
	prog    cel.Program
	message string
	msgProg cel.Program // nil when the validation has no messageExpression
}

var inventoryRef = regexp.MustCompile(`\binventory\b`)

// Compile type-checks and compiles every CEL rule; native rules (decided
// by Go code, see NativeCheck) are left out of the set. Errors name the
// rule, its file and the expression; all rules are checked before
// returning.
func Compile(rules []*Rule) (*RuleSet, error) {
	rules = CEL(rules)
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{byKind: map[[2]string][]*compiledRule{}}
	cc := newCompiler(env)
	for _, v := range preludeVariables {
		p, err := compileExpr(env, v.Expression, cel.DynType)
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
				compiled[i], compileErrs[i] = compileRule(cc, rules[i])
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
				p, err := compileExpr(env, c.Expression, cel.BoolType)
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

func compileRule(cc *compiler, r *Rule) (*compiledRule, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.Where(), what, err)
	}
	cr := &compiledRule{rule: r}
	for i, v := range r.Variables {
		p, err := cc.compile(v.Expression, cel.DynType)
		if err != nil {
			return nil, wrap(fmt.Sprintf("variables[%d] (%s)", i, v.Name), err)
		}
		cr.variables = append(cr.variables, compiledVariable{name: v.Name, prog: p})
		cr.usesInventory = cr.usesInventory || inventoryRef.MatchString(v.Expression)
	}
	for i, v := range r.Validations {
		p, err := cc.compile(v.Expression, cel.BoolType)
		if err != nil {
			return nil, wrap(fmt.Sprintf("validations[%d].expression", i), err)
		}
		cv := compiledValidation{prog: p, message: v.Message}
		if cv.message == "" {
			cv.message = r.Title
		}
		cr.usesInventory = cr.usesInventory || inventoryRef.MatchString(v.Expression)
		if v.MessageExpression != "" {
			mp, err := cc.compile(v.MessageExpression, cel.StringType)
			if err != nil {
				return nil, wrap(fmt.Sprintf("validations[%d].messageExpression", i), err)
			}
			cv.msgProg = mp
			cr.usesInventory = cr.usesInventory || inventoryRef.MatchString(v.MessageExpression)
		}
		cr.validations = append(cr.validations, cv)
	}
	return cr, nil
}

// compiler compiles expressions once: rules often share expressions (the
// control-plane rules share their flag parsing), and a program is
// immutable and safe for concurrent use. It is safe for concurrent use.
type compiler struct {
	env   *cel.Env
	mu    sync.Mutex
	cache map[compileKey]compileResult
}

type compileKey struct {
	expr string
	want string
}

type compileResult struct {
	prog cel.Program
	err  error
}

func newCompiler(env *cel.Env) *compiler {
	return &compiler{env: env, cache: map[compileKey]compileResult{}}
}

func (c *compiler) compile(expr string, want *cel.Type) (cel.Program, error) {
	key := compileKey{expr, want.String()}
	c.mu.Lock()
	r, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return r.prog, r.err
	}
	p, err := compileExpr(c.env, expr, want)
	c.mu.Lock()
	c.cache[key] = compileResult{p, err}
	c.mu.Unlock()
	return p, err
}

func compileExpr(env *cel.Env, expr string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if out := ast.OutputType(); want != cel.DynType && !out.IsExactType(want) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("expression must return %s, not %s", want, out)
	}
	// The Kubernetes base environment already gives every program the API
	// server's options: the per-call cost limit (CostLimit), its cost
	// model for the Kubernetes libraries, and optimized evaluation. Adding
	// them again would track every cost twice.
	p, err := env.Program(ast, cel.InterruptCheckFrequency(celconfig.CheckFrequency))
	if err != nil {
		return nil, err
	}
	return p, nil
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
