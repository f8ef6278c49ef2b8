// Package test holds end-to-end tests that span packages and run against a
// real kube-apiserver (the test control plane; see internal/testenv). They
// skip when KUBEBUILDER_ASSETS is not set; `make test` sets it.
package test
