// Package admission holds the end-to-end tests of the admission webhook:
// the webhook runs in the test process over TLS, registered with a real
// kube-apiserver (envtest) by a ValidatingWebhookConfiguration, and the
// tests make real requests as different users and groups.
package admission
