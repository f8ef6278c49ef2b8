// Package render writes analysed connectivity in the formats of
// `kordon netpol analyze`: txt, json, csv, md, dot and html (one
// self-contained page with an interactive graph).
//
// The JSON format is a stable contract, documented in docs/netpol-json.md:
// an array of Connection objects.
package render
