// Package reference is a deliberately simple evaluator of NetworkPolicy
// semantics: it decides one connection — one source, one destination, one
// protocol and one port — by walking every policy and every rule. It is
// slow and obviously correct, and exists to check the fast analyzer in
// differential tests and fuzzing.
//
// Semantics (networking.k8s.io/v1):
//   - A pod is isolated for ingress (egress) when a policy in its namespace
//     selects it and has Ingress (Egress) among its policy types; an
//     isolated pod accepts (sends) only what some rule of such a policy
//     allows, a pod that is not isolated accepts (sends) everything.
//   - A connection needs both the source's egress and the destination's
//     ingress to allow it. External addresses are never isolated.
//   - A rule without peers matches every peer, pods and addresses alike; a
//     rule without ports matches every port.
//   - ipBlocks match only addresses outside the cluster; pods are matched
//     only by podSelector and namespaceSelector.
//   - Named ports resolve against the destination pod's container ports,
//     matching name and protocol; toward an external address a named port
//     matches nothing.
package reference
