package vap

import (
	"strings"

	"github.com/kordon-dev/kordon/internal/rules"
)

// usedPrelude returns the workload variables the rule refers to, directly
// or through other workload variables, in prelude order. Unused ones are
// left out to keep the policy readable; the API server would not evaluate
// them anyway.
func usedPrelude(r *rules.Rule) []rules.Variable {
	prelude := rules.PreludeVariables()
	var text strings.Builder
	for _, v := range r.Variables {
		text.WriteString(v.Expression + "\n")
	}
	for _, v := range r.Validations {
		text.WriteString(v.Expression + "\n" + v.MessageExpression + "\n")
	}
	used := map[string]bool{}
	// Later prelude variables may use earlier ones, never the reverse, so
	// one pass from the end finds every dependency.
	for i := len(prelude) - 1; i >= 0; i-- {
		v := prelude[i]
		if refersTo(text.String(), v.Name) {
			used[v.Name] = true
			text.WriteString(v.Expression + "\n")
		}
	}
	var out []rules.Variable
	for _, v := range prelude {
		if used[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// refersTo reports whether CEL text mentions variables.<name>.
func refersTo(text, name string) bool {
	ref := "variables." + name
	for i := strings.Index(text, ref); i >= 0; i = strings.Index(text, ref) {
		end := i + len(ref)
		if end == len(text) || !isIdentChar(text[end]) {
			return true
		}
		text = text[end:]
	}
	return false
}

func isIdentChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
