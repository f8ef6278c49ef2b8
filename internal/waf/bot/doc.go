// Package bot defends web routes against automated clients: per-client
// rate limits (token buckets), user agents of attack tools and automation,
// browsers whose headers betray them, and a proof-of-work challenge that
// a browser running JavaScript passes once and a script does not.
//
// A Guard is built from a Config (New) and is safe for concurrent use.
// Its state — buckets per client — is bounded (Config.MaxClients). The
// challenge is stateless: a cookie signed with the guard's key, bound to
// the client's address and user agent, with an expiry.
package bot
