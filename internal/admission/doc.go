// Package admission is Kordon's validating admission webhook: it decodes
// admission.k8s.io/v1 AdmissionReviews, judges the object with the rule
// catalogue (compiled once at start-up) and the governance policies, each
// where and with the action the configuration says, and answers with a
// decision that names every violated rule. It logs every decision as one
// JSON line, counts it in Prometheus metrics, serves /healthz and /readyz,
// reloads its serving certificate when the files change and drains
// requests on shutdown.
//
// The configuration file is package config; the policies are package
// governance; certificates are package certs; the manifests that run the
// webhook in a cluster are package install; package decisionlog reads the
// decision log back and turns its violations into findings.
package admission
