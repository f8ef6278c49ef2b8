// Package render writes everything `kordon netpol` prints about network
// policies, in every format: the connectivity of `analyze` (txt, json, csv,
// md, dot, html), the changes of `diff` (txt, json, md), the explanation of
// `can` (txt, json) and the report of `generate` (txt, json). The engines —
// analyzer, diff, explain and generate — compute results and print nothing;
// this package words them.
//
// Each format lives in one file, for every command that offers it:
//
//   - render.go: the formats of each command and the Write functions that
//     dispatch to them
//   - text.go: txt
//   - json.go: json
//   - csv.go: csv (analyze)
//   - markdown.go: md (analyze and diff)
//   - dot.go: Graphviz dot (analyze)
//   - html.go and page.html: one self-contained page with an interactive
//     graph (analyze)
//   - graph.go: the connections and nodes of an analysis as the formats
//     see them
//   - endpoint.go: how an endpoint (a workload or an address) is named in
//     text
//
// Ports in words ("all", "none" or "TCP/80,UDP/53") always come from
// portset.Text (Set.String is Text of the set's ranges); no format words
// ports itself, except the html page's script, which labels edges in the
// browser from the JSON data.
//
// The JSON formats are stable contracts, documented in docs/netpol-json.md;
// analyze writes an array of Connection objects, diff an array of
// diff.Change objects.
package render
