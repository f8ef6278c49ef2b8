package render

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// writeDot writes a Graphviz digraph: one cluster per namespace holding its
// workloads, dashed ellipses for external ranges, edges labelled with
// ports.
func writeDot(w io.Writer, g Graph) error {
	var b strings.Builder
	b.WriteString("digraph connectivity {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	byNS := map[string][]Node{}
	var external []Node
	for _, n := range g.Nodes {
		if n.Kind == analyzer.IPBlockKind {
			external = append(external, n)
			continue
		}
		byNS[n.Namespace] = append(byNS[n.Namespace], n)
	}
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for i, ns := range namespaces {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%s;\n    style=rounded;\n", i, strconv.Quote("namespace "+ns))
		for _, n := range byNS[ns] {
			fmt.Fprintf(&b, "    %s [label=%s, shape=box];\n", strconv.Quote(n.Name), strconv.Quote(n.Name[len(ns)+1:]+"\n"+n.Kind))
		}
		b.WriteString("  }\n")
	}
	for _, n := range external {
		fmt.Fprintf(&b, "  %s [shape=ellipse, style=dashed];\n", strconv.Quote(n.Name))
	}
	for _, c := range g.Connections {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", strconv.Quote(c.Src), strconv.Quote(c.Dst), strconv.Quote(portset.Text(c.Ports)))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
