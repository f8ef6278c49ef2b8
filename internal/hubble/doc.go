// Package hubble follows the flows of Hubble (a Cilium agent's observer or
// Hubble Relay for the whole cluster) over its gRPC Observer API and feeds
// them, as the Flow events of internal/flowlog, to a store's ingest path.
//
// A Follower calls GetFlows with follow set and keeps calling it: after a
// broken stream it reconnects with backoff and resumes from the time of the
// last flow it stored, with an overlap whose flows it recognises and drops,
// so that a reconnect neither stores a flow twice nor skips one the server
// still holds. What it cannot get back it reports: Hubble's LostEvents
// notices and restarts of the server while it was away become gap events
// in the store (see docs/server.md), and counters in Stats.
//
// Memory is bounded: flows are stored in batches, and while a batch is
// being stored the Follower stops reading, so gRPC's flow control (a fixed
// window) makes the server wait instead of buffering without bound.
//
// The wire types are in the api subpackages, a subset of Cilium's protos.
package hubble
