// Package flow is generated from flow.proto: the subset of Cilium's Hubble
// flow messages that internal/hubble reads (the .proto file names the source
// and licence of the original definitions). Regenerate with make hubble-proto.
package flow
