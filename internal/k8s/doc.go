// Package k8s loads Kubernetes objects from files, folders, standard input,
// Helm charts, kustomize folders and live clusters, and gives every object
// the source location (file and line) it was read from.
//
// Objects are kept in their unstructured form (JSON-compatible maps) so that
// rules see exactly what the user wrote, whatever the API version.
package k8s
