// Package k8s loads Kubernetes objects from files, folders, standard input,
// Helm charts, kustomize folders and live clusters, and gives every object
// the source location (file and line) it was read from.
//
// Objects are kept in their unstructured form (JSON-compatible maps) so that
// rules see exactly what the user wrote, whatever the API version.
//
// Entry points: Decode for bytes, LoadPaths for files, folders, charts and
// kustomizations, RenderChart and BuildKustomization for one of each, and
// LoadCluster for a live API server, whose client configuration
// (kubeconfig or in-cluster) LoadClientConfig finds for every command.
// PodTemplate extracts the pod a workload runs, and an OwnerIndex tells
// which objects were made by a workload controller that is itself loaded,
// so that a scan reports the controller, and which workload an object is
// reported as (ReportedAs) when its controller is not loaded.
package k8s
