// Package test holds end-to-end tests that span packages. Most run against
// a real kube-apiserver (the test control plane; see internal/testenv) and
// skip when KUBEBUILDER_ASSETS is not set; `make test` sets it. The CIS
// 5.3.2 differential test (cis532_*_test.go) needs none: it runs kordon
// scan, kordon netpol lint and the admission webhook in process on
// generated clusters and compares them with a reference.
package test
