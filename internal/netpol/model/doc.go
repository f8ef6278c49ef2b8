// Package model holds Kordon's view of pod networking: namespaces with
// their labels, workloads (a Pod or a controller's pod template, with
// labels and named container ports) and NetworkPolicies
// (networking.k8s.io/v1) with their full selection semantics, read once
// from Kubernetes objects.
//
// NetworkPolicies are read and validated as the API server reads and
// validates them (DecodePolicy, ValidatePolicy); FromObjects reports a
// policy it would reject as a Problem naming every field it gets wrong, and
// leaves it out.
//
// The matching primitives (label selectors, ipBlocks, port resolution)
// live here so that every engine reads the API the same way; how rules
// combine into connectivity is left to the engines (reference, analyzer).
//
// A Cluster is a value built by FromObjects; it is not modified afterwards
// and is safe for concurrent reads.
package model
