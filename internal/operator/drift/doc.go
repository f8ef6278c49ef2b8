// Package drift compares live objects with a baseline kept in Git or a
// folder, and reports the objects that differ (KOR-DRIFT-001) or are
// missing (KOR-DRIFT-002).
//
// The comparison is not a naive diff, which would flag every field the
// API server defaults, a mutating webhook injects or a controller sets
// (the false OutOfSync Argo CD users meet, argoproj/argo-cd#4326). For each
// baseline object the detector asks the API server for a server-side
// apply of it in dry-run mode, as a field manager of its own with force:
// the answer is the live object as it would be after applying the
// baseline, defaulted and mutated like a real apply, and its
// managedFields name exactly the fields the baseline sets. Only those
// fields are compared between the live object and the answer. Fields the
// baseline leaves out (replicas an autoscaler owns, annotations a
// controller adds, status) never count; a field the baseline sets to a
// value someone changed does.
package drift
