// Package sensorchart tests the Helm chart's sensor block
// (deploy/helm/kordon, values.sensor): it renders the same objects, with
// the same privileges, as `kordon sensor install` (internal/sensor/install),
// is guarded by a golden file, and is accepted by a real API server.
package sensorchart
