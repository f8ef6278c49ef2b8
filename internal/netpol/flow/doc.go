// Package flow reads observed network flows: Hubble's JSON output
// (`hubble observe -o json`, one flow per line) and Kordon's own simple
// format, as JSON lines or CSV (documented in docs/netpol.md):
//
//	{"src": "shop/web", "dst": "shop/api", "protocol": "TCP", "port": 8080}
//	{"src": "203.0.113.7", "dst": "shop/web", "port": 443}
//
//	src,dst,protocol,port
//	shop/web,shop/api,TCP,8080
//
// An end is namespace/name (a workload or a pod) or an IP address.
// Reader reads one flow at a time, so that flow files of any length are
// read in bounded memory; Read reads a whole file.
package flow
