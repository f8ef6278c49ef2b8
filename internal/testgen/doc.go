// Package testgen generates realistic Kubernetes objects for benchmarks and
// randomized tests: namespaces full of workloads of every controller kind,
// with services, config, RBAC and network policies, some hardened and some
// misconfigured, from a seeded random source so runs are repeatable.
package testgen
