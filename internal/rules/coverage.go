package rules

import "regexp"

// inventoryKind finds the kinds an expression reads from the inventory:
// inventory.namespace.LimitRange, inventory.cluster.Pod.
var inventoryKind = regexp.MustCompile(`\binventory\s*\.\s*(?:namespace|cluster)\s*\.\s*([A-Za-z][A-Za-z0-9]*)`)

// inventoryWorkloads finds expressions that read inventory.workloads,
// which reads the kinds of workloadKinds.
var inventoryWorkloads = regexp.MustCompile(`\binventory\s*\.\s*workloads\b`)

// Judges reports whether a rule of the set applies to objects of this group
// and kind (before match conditions), or reads objects of this kind from
// the inventory, so that a scan can say which objects no rule used.
func (rs *RuleSet) Judges(group, kind string) bool {
	if rules, ok := rs.byKind[[2]string{group, kind}]; ok && len(rules) > 0 {
		return true
	}
	if len(rs.match(group, kind)) > 0 {
		return true
	}
	return rs.inventoryKinds()[kind]
}

// inventoryKinds returns the kinds the set's rules read from the inventory.
func (rs *RuleSet) inventoryKinds() map[string]bool {
	rs.invKindsOnce.Do(func() {
		rs.invKinds = map[string]bool{}
		for _, cr := range rs.rules {
			r := cr.rule
			exprs := make([]string, 0, len(r.Variables)+2*len(r.Validations))
			for _, v := range r.Variables {
				exprs = append(exprs, v.Expression)
			}
			for _, v := range r.Validations {
				exprs = append(exprs, v.Expression, v.MessageExpression)
			}
			for _, e := range exprs {
				for _, m := range inventoryKind.FindAllStringSubmatch(e, -1) {
					rs.invKinds[m[1]] = true
				}
				if inventoryWorkloads.MatchString(e) {
					for _, wk := range workloadKinds {
						rs.invKinds[wk.kind] = true
					}
				}
			}
		}
	})
	return rs.invKinds
}

// KindJudge is implemented by native checks that can say which kinds they
// judge or read, so that a scan can tell objects no check used.
type KindJudge interface {
	Judges(group, kind string) bool
}
