// Package synth generates clusters — namespaces, workloads and
// NetworkPolicies — for randomized tests and benchmarks. Random draws come
// from a Source, so that the same generator serves math/rand (tests,
// benchmarks) and fuzzing (bytes from the fuzzer).
package synth
