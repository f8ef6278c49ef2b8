package k8s

// WorkloadKinds lists the kinds whose objects carry a pod spec, as
// group/kind pairs: the Pod itself and every built-in workload controller.
var workloadKinds = map[[2]string]bool{
	{"", "Pod"}:                   true,
	{"", "ReplicationController"}: true,
	{"", "PodTemplate"}:           true,
	{"apps", "Deployment"}:        true,
	{"apps", "StatefulSet"}:       true,
	{"apps", "DaemonSet"}:         true,
	{"apps", "ReplicaSet"}:        true,
	{"batch", "Job"}:              true,
	{"batch", "CronJob"}:          true,
	// Removed API versions that old charts still carry
	// (extensions/v1beta1, removed in Kubernetes 1.16): their pod
	// templates are judged like any other; rule KOR-API-001 reports the
	// removed version. apps/v1beta1/2 and batch/v1beta1 share the groups
	// above.
	{"extensions", "Deployment"}: true,
	{"extensions", "DaemonSet"}:  true,
	{"extensions", "ReplicaSet"}: true,
}

// IsWorkload reports whether objects of this group and kind carry a pod
// spec (Pod, PodTemplate, ReplicationController, Deployment, StatefulSet,
// DaemonSet, ReplicaSet, Job, CronJob, and the extensions group's removed
// Deployment, DaemonSet and ReplicaSet).
func IsWorkload(group, kind string) bool { return workloadKinds[[2]string{group, kind}] }

// WorkloadKinds returns the group/kind pairs that IsWorkload accepts.
func WorkloadKinds() [][2]string {
	out := make([][2]string, 0, len(workloadKinds))
	for gk := range workloadKinds {
		out = append(out, gk)
	}
	return out
}

// PodTemplate returns the metadata and spec of the pods an object runs: the
// Pod's own, or the pod template of a workload controller (for a CronJob,
// spec.jobTemplate.spec.template). ok is false when the object is not a
// workload or has no pod spec. Missing metadata is returned as nil.
func PodTemplate(o *Object) (meta, spec map[string]any, ok bool) {
	if !IsWorkload(o.Group(), o.Kind()) {
		return nil, nil, false
	}
	switch o.Kind() {
	case "Pod":
		meta, spec = Map(o.Content, "metadata"), Map(o.Content, "spec")
	case "PodTemplate":
		tmpl := Map(o.Content, "template")
		meta, spec = Map(tmpl, "metadata"), Map(tmpl, "spec")
	case "CronJob":
		tmpl := Map(Map(Map(Map(o.Content, "spec"), "jobTemplate"), "spec"), "template")
		meta, spec = Map(tmpl, "metadata"), Map(tmpl, "spec")
	default:
		tmpl := Map(Map(o.Content, "spec"), "template")
		meta, spec = Map(tmpl, "metadata"), Map(tmpl, "spec")
	}
	return meta, spec, spec != nil
}
