// Package testenv starts a real Kubernetes control plane (kube-apiserver and
// etcd, through controller-runtime's envtest) for tests, and offers the
// helpers tests need around it: clients, a kubeconfig file for CLI tests,
// impersonating configs for authorization tests, unique names, and creating
// Kordon objects through the dynamic client.
//
// The binaries come from KUBEBUILDER_ASSETS (hack/build-control-plane.sh
// prints the folder); without it, Start and Shared.Env skip the test.
//
// Only the API server runs: no controllers, no scheduler. Deployments make no
// ReplicaSets, pods stay Pending, and deleted namespaces stay Terminating, so
// every test should create its own namespaces with unique names.
package testenv
