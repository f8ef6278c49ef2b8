// Package certs makes and serves the webhook's TLS certificates: a
// self-signed CA and a serving certificate signed by it (for installs
// without cert-manager and for tests), and a Reloader that serves the
// certificate files from disk and picks up new ones when they change, so
// certificates rotate without a restart; and a CAReloader that does the
// same for the CA of the client certificate the API server presents.
package certs
