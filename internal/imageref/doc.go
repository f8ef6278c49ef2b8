// Package imageref reads container image references ("nginx",
// "ghcr.io/org/app:1.2", "localhost:5000/app@sha256:...") into their
// registry, repository, tag and digest, the way container runtimes resolve
// them: docker.io when no registry is named, library/ for single-name
// Docker Hub images.
//
// Parse is the Go form of the CEL variable variables.imageRefs that the rule
// engine defines (internal/rules/prelude.go); the two must agree on every
// input, and a test in internal/rules checks that they do. Parse therefore
// never fails and does not validate: it reads any string the way the CEL
// definition does. References are plain values, safe for concurrent use.
package imageref
