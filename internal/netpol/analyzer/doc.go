// Package analyzer computes the allowed connectivity between every pair of
// workloads, and between workloads and the address ranges outside the
// cluster, under a set of NetworkPolicies.
//
// It is fast because it never evaluates one pod or one port at a time:
// workloads with the same namespace, labels and named ports form one
// equivalence class; policies are indexed by namespace; each class's
// isolation is summarised as a profile (the set of policies that select
// it) shared by every class with the same policies; peers are resolved
// once to the classes and address ranges they match; and ports are
// interval sets, interned so that equal sets share one identifier.
//
// The semantics are those of package reference, against which the analyzer
// is checked by randomized differential tests and fuzzing.
//
// A Result is immutable after Analyze returns, but its methods use
// internal caches and are not safe for concurrent use.
package analyzer
