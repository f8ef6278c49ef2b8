// Package portset represents sets of transport ports — (protocol, port)
// pairs for TCP, UDP and SCTP and ports 1 to 65535 — as sorted, disjoint
// interval lists per protocol.
//
// A Set is an immutable value: operations return new sets and never modify
// their operands, so sets are safe for concurrent use.
package portset
