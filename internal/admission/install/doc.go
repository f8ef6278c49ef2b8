// Package install renders everything that runs the admission webhook in a
// cluster: namespace, service account with least-privilege RBAC,
// configuration, serving certificate (generated, or requested from
// cert-manager), a Deployment with three replicas and a
// PodDisruptionBudget, a Service and the ValidatingWebhookConfiguration.
// The Helm chart in deploy/helm/kordon renders the same objects; a test
// compares them.
package install
