package rules

// The workload variables every rule with match.workloads sees, in order.
// They are plain CEL over `object`, so a rule using them means the same in
// Kordon's scanner and in an exported ValidatingAdmissionPolicy, where they
// are emitted as policy variables.
//
// The API server type-checks a policy against the schema of each kind it
// matches, where object.template is undefined for a Pod, object.spec for a
// PodTemplate, and so on; dyn(object) keeps those branches from failing the
// check (and typed metadata from clashing with {}). Containers,
// initContainers and ephemeralContainers then concatenate as dynamic lists,
// not as the distinct Container and EphemeralContainer types.
var preludeVariables = []Variable{
	{
		Name: "podSpec",
		Expression: `object.kind == 'Pod' ? dyn(object).spec :
  object.kind == 'PodTemplate' ? dyn(object).template.spec :
  object.kind == 'CronJob' ? dyn(object).spec.jobTemplate.spec.template.spec :
  dyn(object).spec.template.spec`,
	},
	{
		Name: "podMeta",
		Expression: `object.kind == 'Pod' ? dyn(object).metadata :
  object.kind == 'PodTemplate' ? (has(dyn(object).template.metadata) ? dyn(object).template.metadata : {}) :
  object.kind == 'CronJob' ? (has(dyn(object).spec.jobTemplate.spec.template.metadata) ? dyn(object).spec.jobTemplate.spec.template.metadata : {}) :
  (has(dyn(object).spec.template.metadata) ? dyn(object).spec.template.metadata : {})`,
	},
	{
		Name: "allContainers",
		Expression: `(has(variables.podSpec.containers) ? variables.podSpec.containers : []) +
  (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) +
  (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])`,
	},
	{
		// imageRefs parses every container's image reference the way container
		// runtimes resolve it: registry (docker.io when there is none),
		// repository (library/ added for single-name Docker Hub images),
		// tag and digest ('' when absent). Containers without an image are
		// left out. imageref.Parse is the same reading in Go.
		Name: "imageRefs",
		Expression: `variables.allContainers.filter(c, has(c.image) && string(c.image) != '')
  .map(c, {'container': has(c.name) ? string(c.name) : '', 'image': string(c.image),
    'name': string(c.image).split('@')[0],
    'digest': string(c.image).contains('@') ? string(c.image).substring(string(c.image).indexOf('@') + 1) : ''})
  .map(x, {'container': x.container, 'image': x.image, 'digest': x.digest, 'name': x.name,
    'last': x.name.substring(x.name.lastIndexOf('/') + 1)})
  .map(x, {'container': x.container, 'image': x.image, 'digest': x.digest,
    'tag': x.last.contains(':') ? x.last.substring(x.last.lastIndexOf(':') + 1) : '',
    'name': x.last.contains(':') ? x.name.substring(0, x.name.lastIndexOf(':')) : x.name})
  .map(x, {'container': x.container, 'image': x.image, 'digest': x.digest, 'tag': x.tag, 'name': x.name,
    'host': x.name.contains('/') && (x.name.split('/')[0].contains('.') || x.name.split('/')[0].contains(':') || x.name.split('/')[0] == 'localhost') ? x.name.split('/')[0] : ''})
  .map(x, {'container': x.container, 'image': x.image, 'digest': x.digest, 'tag': x.tag,
    'registry': x.host == '' || x.host.lowerAscii() in ['index.docker.io', 'registry-1.docker.io'] ? 'docker.io' : x.host.lowerAscii(),
    'path': x.host == '' ? x.name : x.name.substring(size(x.host) + 1)})
  .map(x, {'container': x.container, 'image': x.image, 'registry': x.registry,
    'repository': x.registry == 'docker.io' && !x.path.contains('/') ? 'library/' + x.path : x.path,
    'tag': x.tag, 'digest': x.digest})`,
	},
	{
		// isWindows says whether the pod can only run on Windows nodes: its
		// spec.os.name is windows, its nodeSelector or every term of its
		// required node affinity demands kubernetes.io/os=windows, or the
		// pod or a container is a HostProcess container (Windows only).
		// The kubelet enforces each of these (it refuses a pod whose OS or
		// node selector does not fit the node), so an author cannot use
		// them to dodge Linux checks on a Linux node. Rules whose settings
		// only exist on Linux skip such pods. The Pod Security Standards
		// rules do not use it: Pod Security Admission exempts Windows pods
		// only by spec.os.name, and those rules match it exactly.
		Name: "isWindows",
		Expression: `variables.podSpec.?os.?name.orValue('') == 'windows' ||
  variables.podSpec.?nodeSelector[?'kubernetes.io/os'].orValue('') == 'windows' ||
  variables.podSpec.?affinity.?nodeAffinity.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([]).size() > 0 &&
    variables.podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.all(t,
      t.?matchExpressions.orValue([]).exists(e, e.?key.orValue('') == 'kubernetes.io/os' && e.?operator.orValue('') == 'In' &&
        e.?values.orValue([]).size() > 0 && e.values.all(v, v == 'windows'))) ||
  variables.podSpec.?securityContext.?windowsOptions.?hostProcess.orValue(false) == true ||
  variables.allContainers.exists(c, c.?securityContext.?windowsOptions.?hostProcess.orValue(false) == true)`,
	},
}

// PreludeVariables returns the workload variables (podSpec, podMeta,
// allContainers, imageRefs, isWindows) defined for rules that match
// workloads.
func PreludeVariables() []Variable { return append([]Variable(nil), preludeVariables...) }

func isPreludeVariable(name string) bool {
	for _, v := range preludeVariables {
		if v.Name == name {
			return true
		}
	}
	return false
}
