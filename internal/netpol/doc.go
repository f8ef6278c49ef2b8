// Package netpol is the root of Kordon's network-security capability: the
// analysis of Kubernetes NetworkPolicies (who can reach whom), a friendly
// policy format compiled to native NetworkPolicies, policies learned from
// flow logs, a semantic diff and renderings of the connectivity graph.
//
// The work is split into one package per concept:
//
//   - portset: sets of (protocol, port range) as interval sets
//   - iprange: the disjoint address ranges that ipBlocks cut the address space into
//   - model: namespaces, workloads and NetworkPolicies read from Kubernetes objects
//   - reference: a slow, obviously correct evaluator used to check the analyzer
//   - analyzer: the fast connectivity analysis (equivalence classes, interval sets)
//   - explain: why a connection is allowed or denied (kordon netpol can)
//   - lint: findings about policies (kordon netpol lint)
//   - diff: the semantic difference between two configurations
//   - compile: Kordon's friendly intent format compiled to NetworkPolicies
//   - flow and generate: least-privilege policies learned from observed traffic
//   - synth: generated clusters for randomized tests and benchmarks
//   - render: every output of analyze, diff, can and generate, one file per
//     format (txt, json, csv, md, dot, html)
//
// The engines (analyzer, explain, diff, generate) compute results and print
// nothing; render writes them, and cmd/kordon only wires flags to both.
package netpol
