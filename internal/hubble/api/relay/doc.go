// Package relay is generated from relay.proto: the subset of Hubble Relay's
// messages that internal/hubble reads (the .proto file names the source and
// licence of the original definitions). Regenerate with make hubble-proto.
package relay
