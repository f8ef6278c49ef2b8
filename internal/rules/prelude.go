package rules

// The workload variables every rule with match.workloads sees, in order.
// They are plain CEL over `object`, so a rule using them means the same in
// Kordon's scanner and in an exported ValidatingAdmissionPolicy, where they
// are emitted as policy variables.
var preludeVariables = []Variable{
	{
		Name: "podSpec",
		Expression: `object.kind == 'Pod' ? object.spec :
  object.kind == 'PodTemplate' ? object.template.spec :
  object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec :
  object.spec.template.spec`,
	},
	{
		Name: "podMeta",
		Expression: `object.kind == 'Pod' ? object.metadata :
  object.kind == 'PodTemplate' ? (has(object.template.metadata) ? object.template.metadata : {}) :
  object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) ? object.spec.jobTemplate.spec.template.metadata : {}) :
  (has(object.spec.template.metadata) ? object.spec.template.metadata : {})`,
	},
	{
		Name: "allContainers",
		Expression: `(has(variables.podSpec.containers) ? variables.podSpec.containers : []) +
  (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) +
  (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])`,
	},
}

// PreludeVariables returns the workload variables (podSpec, podMeta,
// allContainers) defined for rules that match workloads.
func PreludeVariables() []Variable { return append([]Variable(nil), preludeVariables...) }

func isPreludeVariable(name string) bool {
	for _, v := range preludeVariables {
		if v.Name == name {
			return true
		}
	}
	return false
}
