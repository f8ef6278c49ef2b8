package vap

import (
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kordon-dev/kordon/internal/rules"
)

// Match conditions the export adds in front of a rule's own, so that a
// policy does not get in the way of controllers maintaining objects that
// were created before it (or are exempt from it).
var (
	// notTerminating leaves alone objects being deleted: controllers remove
	// their finalizers with an UPDATE, which must not fail on a rule.
	notTerminating = admissionv1.MatchCondition{
		Name:       "kordon-not-terminating",
		Expression: "!has(object.metadata.deletionTimestamp)",
	}
	// podTemplateChanged re-checks a workload on UPDATE only when what its
	// pods run changes (the Pod's spec, or the pod template): the
	// Deployment controller scales and annotates old ReplicaSets, and the
	// Job controller removes finalizers from pods, with UPDATEs that a
	// denial would block, stalling rollouts away from a non-compliant
	// template. Other kinds a workload rule also matches are always
	// checked.
	podTemplateChanged = admissionv1.MatchCondition{
		Name: "kordon-pod-template-changed",
		Expression: `request.operation != 'UPDATE' || (
  object.kind == 'Pod' ? dyn(object).spec != dyn(oldObject).spec :
  object.kind == 'PodTemplate' ? dyn(object).template != dyn(oldObject).template :
  object.kind == 'CronJob' ? dyn(object).spec.jobTemplate.spec.template != dyn(oldObject).spec.jobTemplate.spec.template :
  object.kind in ['ReplicationController', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'] ?
    dyn(object).spec.template != dyn(oldObject).spec.template :
  true)`,
	}
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
