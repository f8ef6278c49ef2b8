package vap

import admissionv1 "k8s.io/api/admissionregistration/v1"

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
