package admission

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

// binding is a compiled rule binding: its rules, scope and action.
type binding struct {
	name   string
	rules  *rules.RuleSet
	scope  *scope
	action config.Action
}

// compileBindings selects and compiles the rules of every binding. Rules
// that read the inventory (other objects of a scan) cannot judge a single
// object at admission: naming one in ids is an error; one selected by
// pack, tag, framework or severity is left out and reported in skipped.
func compileBindings(cfg *config.Config, catalogue []*rules.Rule) (out []*binding, skipped []string, err error) {
	var errs []error
	for i, b := range cfg.Rules {
		field := fmt.Sprintf("rules[%d] (%s)", i, b.Name)
		selected, err := selectRules(catalogue, b.Select)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.select: %w", field, err))
			continue
		}
		rs, err := compileForAdmission(selected)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
			continue
		}
		var keep []*rules.Rule
		for _, r := range selected {
			named := slices.ContainsFunc(b.Select.IDs, func(id string) bool {
				return slices.ContainsFunc(r.IDs(), func(x string) bool { return strings.EqualFold(x, id) })
			})
			if r.IsNative() {
				why := nativeAtAdmission(r)
				if named {
					errs = append(errs, fmt.Errorf("%s.select.ids: rule %s %s", field, r.ID, why))
				} else {
					skipped = append(skipped, fmt.Sprintf("%s: %s %s", field, r.ID, why))
				}
				continue
			}
			if !rs.NeedsInventory(r.ID) {
				keep = append(keep, r)
				continue
			}
			if named {
				errs = append(errs, fmt.Errorf("%s.select.ids: rule %s reads other objects (inventory) and cannot run at admission; use it with kordon scan", field, r.ID))
				continue
			}
			skipped = append(skipped, fmt.Sprintf("%s: %s reads other objects (inventory) and cannot run at admission", field, r.ID))
		}
		if len(keep) == 0 {
			errs = append(errs, fmt.Errorf("%s.select: no rule that can run at admission is selected", field))
			continue
		}
		if len(keep) != len(selected) {
			if rs, err = compileForAdmission(keep); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
		}
		sc, err := compileScope(b.Scope)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
			continue
		}
		out = append(out, &binding{name: b.Name, rules: rs, scope: sc, action: b.Action})
	}
	return out, skipped, errors.Join(errs...)
}

// compileForAdmission compiles rules for the webhook. The built-in rules
// run without CEL's runtime cost tracking: their cost is linear in the
// object's size, which MaxObjectBytes bounds, every comprehension stops at
// the request's deadline, and the tracking took about a third of a
// review's evaluation CPU. Custom rules keep it (and their per-call cost
// limit): a custom expression may be quadratic.
func compileForAdmission(rs []*rules.Rule) (*rules.RuleSet, error) {
	return rules.CompileWith(rs, rules.CompileOptions{Untracked: (*rules.Rule).IsBuiltin})
}

// nativeAtAdmission says why a native rule cannot be bound like a CEL
// rule: Go code decides it, at admission only as a governance policy.
func nativeAtAdmission(r *rules.Rule) string {
	if r.RunsIn(rules.EngineAdmission) {
		return "is decided by Go code, at admission by a governance policy (see kordon rules show " + r.ID + " and docs/admission.md), not by a rule binding"
	}
	return "is decided by Go code that cannot run at admission (it runs in " + strings.Join(r.Native.Engines, ", ") + "; use it with kordon scan or netpol lint)"
}

// selectRules applies a selector to the catalogue. Unknown packs and IDs
// and an empty result are errors.
func selectRules(catalogue []*rules.Rule, s config.RuleSelector) ([]*rules.Rule, error) {
	sev := finding.Info
	if s.MinSeverity != "" {
		var err error
		if sev, err = finding.ParseSeverity(s.MinSeverity); err != nil {
			return nil, fmt.Errorf("minSeverity: %w", err)
		}
	}
	var errs []error
	for _, id := range append(slices.Clone(s.IDs), s.ExcludeIDs...) {
		if _, ok := rules.ByID(catalogue, id); !ok {
			errs = append(errs, fmt.Errorf("no rule %s in the catalogue (see kordon rules list)", id))
		}
	}
	packs := map[string]bool{}
	for _, r := range catalogue {
		packs[packOf(r)] = true
	}
	for _, p := range s.Packs {
		if !packs[p] {
			errs = append(errs, fmt.Errorf("no rule pack %q (packs: %s)", p, strings.Join(sortedKeys(packs), ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ids := make([]string, len(s.IDs))
	for i, id := range s.IDs {
		ids[i] = strings.ToUpper(id)
	}
	var out []*rules.Rule
	for _, r := range rules.Select(catalogue, rules.Filter{Frameworks: s.Frameworks, Tags: s.Tags, IDs: ids, MinSeverity: sev}) {
		if len(s.Packs) > 0 && !slices.Contains(s.Packs, packOf(r)) {
			continue
		}
		if slices.ContainsFunc(s.ExcludeIDs, func(id string) bool { return strings.EqualFold(id, r.ID) }) {
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("selects no rule")
	}
	return out, nil
}

// packOf returns a rule's pack: its file name without folder and extension.
func packOf(r *rules.Rule) string {
	base := path.Base(strings.ReplaceAll(r.File, "\\", "/"))
	if i := strings.IndexByte(base, ':'); i >= 0 {
		base = base[i+1:]
	}
	return strings.TrimSuffix(base, path.Ext(base))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// evaluate runs a binding's rules on one object and returns the findings
// and the rules that failed to evaluate.
func (b *binding) evaluate(ctx context.Context, obj *k8s.Object) ([]finding.Finding, []finding.Problem, error) {
	res, err := b.rules.Evaluate(ctx, []*k8s.Object{obj}, rules.EvalOptions{Workers: 1})
	if err != nil {
		return nil, nil, err
	}
	return res.Findings, res.Errors, nil
}

// dropInherited removes the findings of rules the old object already
// failed, evaluating the binding's rules on it.
func (b *binding) dropInherited(ctx context.Context, old *k8s.Object, fs []finding.Finding) ([]finding.Finding, error) {
	res, err := b.rules.Evaluate(ctx, []*k8s.Object{old}, rules.EvalOptions{Workers: 1})
	if err != nil {
		return nil, err
	}
	had := make(map[string]bool, len(res.Findings))
	for _, f := range res.Findings {
		had[f.RuleID] = true
	}
	out := fs[:0]
	for _, f := range fs {
		if !had[f.RuleID] {
			out = append(out, f)
		}
	}
	return out, nil
}
