// Package proxy is the WAF's reverse proxy: every request passes the
// engine's request phases before it is forwarded to one upstream, and
// every response passes the response phases before it reaches the client.
// A refused request gets 403 (413 for a body over the limit) with a
// request ID; every decision with a matched rule is handed to the event
// sink. HTTP/1.1 and HTTP/2 (TLS, or h2c), WebSocket upgrades pass
// through.
package proxy
