// Package vap exports Kordon rules as native Kubernetes admission policies:
// one admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and one
// ValidatingAdmissionPolicyBinding per rule.
//
// Only rules that judge an object on its own can run inside the API server;
// rules that read the inventory (other objects of a scan) are reported as
// skipped, never dropped silently. A workload rule's policy carries the
// workload prelude (the variables podSpec, podMeta, allContainers,
// imageRefs and isWindows it uses) ahead of the rule's own variables, so
// that the rule's CEL is evaluated by the API server exactly as Kordon's
// scanner evaluates it.
//
// A binding denies violations of rules at or above a severity
// (DefaultDenySeverity unless Options.DenySeverity says otherwise) and
// warns about the others, or carries the same actions for every rule
// (Options.Actions); each states why in an annotation.
//
// Build turns a compiled rule set into an Export; Export.Write prints it as
// multi-document YAML for kubectl apply, Export.WriteJSON as a v1 List.
package vap
