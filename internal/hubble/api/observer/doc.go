// Package observer is generated from observer.proto: the subset of Hubble's
// Observer gRPC service that internal/hubble calls (the .proto file names the
// source and licence of the original definitions). Regenerate with make
// hubble-proto.
package observer
