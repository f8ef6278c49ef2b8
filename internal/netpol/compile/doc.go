// Package compile reads Kordon's friendly network intent format — named
// groups of pods or addresses, zones whose namespaces deny by default, and
// rules "from group to group on ports" — and compiles it to native
// NetworkPolicy objects: deterministic, one policy per zone namespace and
// group, each annotated with the intent rules it came from.
//
// Intent.Allows states what an intent means, independently of the
// compiler; a randomized property test checks with the analyzer that the
// compiled policies allow exactly that. The format is documented with
// examples in docs/netpol.md.
package compile
