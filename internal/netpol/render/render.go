package render

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
)

// Connection is one allowed connection, the element of the JSON contract.
type Connection struct {
	// Src and Dst are namespace/name for workloads and the range text
	// (a CIDR, or first-last) for addresses outside the cluster.
	Src     string `json:"src"`
	SrcKind string `json:"srcKind"`
	Dst     string `json:"dst"`
	DstKind string `json:"dstKind"`
	// All is true when every protocol and port is allowed.
	All bool `json:"all"`
	// Ports are the allowed port ranges, merged and sorted: "TCP/80",
	// "TCP/8000-8080", "UDP/53". When All is true they are
	// "TCP/1-65535", "UDP/1-65535" and "SCTP/1-65535".
	Ports []string `json:"ports"`
}

// Node is an endpoint shown in a graph.
type Node struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
}

// Graph is what the formats render: every workload, the external ranges
// that take part in a connection, and the connections.
type Graph struct {
	Nodes       []Node
	Connections []Connection
}

// FromResult builds the graph of an analysis.
func FromResult(r *analyzer.Result) Graph {
	eps := r.Endpoints()
	var g Graph
	used := map[int]bool{}
	for _, c := range r.Connections() {
		used[c.Src], used[c.Dst] = true, true
		g.Connections = append(g.Connections, Connection{
			Src: eps[c.Src].Name(), SrcKind: eps[c.Src].Kind(),
			Dst: eps[c.Dst].Name(), DstKind: eps[c.Dst].Kind(),
			All: c.Ports.IsAll(), Ports: c.Ports.Strings(),
		})
	}
	for i, e := range eps {
		if e.IsExternal() && !used[i] {
			continue
		}
		n := Node{Name: e.Name(), Kind: e.Kind()}
		if e.Workload != nil {
			n.Namespace = e.Workload.Namespace
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g
}

// Formats lists the formats Write accepts.
func Formats() []string { return []string{"txt", "json", "csv", "md", "dot", "html"} }

// Write renders an analysis in a format: txt, json, csv, md, dot or html.
// The txt, json, csv and md formats stream the connections and never hold
// them all in memory; dot and html build the whole graph.
func Write(w io.Writer, format string, r *analyzer.Result) error {
	switch format {
	case "dot":
		return writeDot(w, FromResult(r))
	case "html":
		return writeHTML(w, FromResult(r))
	case "txt", "", "json", "csv", "md":
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	bw := bufio.NewWriterSize(w, 64*1024)
	var err error
	switch format {
	case "json":
		err = streamJSON(bw, r)
	case "csv":
		err = streamCSV(bw, r)
	case "md":
		err = streamMarkdown(bw, r)
	default:
		err = streamText(bw, r)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}

// each calls fn with every connection in the JSON contract's shape.
func each(r *analyzer.Result, fn func(Connection)) {
	eps := r.Endpoints()
	r.EachConnection(func(c analyzer.Connection) bool {
		fn(Connection{
			Src: eps[c.Src].Name(), SrcKind: eps[c.Src].Kind(),
			Dst: eps[c.Dst].Name(), DstKind: eps[c.Dst].Kind(),
			All: c.Ports.IsAll(), Ports: c.Ports.Strings(),
		})
		return true
	})
}

// WriteJSON writes connections as the JSON contract: an indented array,
// "[]" when there are none.
func WriteJSON(w io.Writer, conns []Connection) error {
	if conns == nil {
		conns = []Connection{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(conns); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func streamJSON(w io.Writer, r *analyzer.Result) error {
	n := 0
	var err error
	each(r, func(c Connection) {
		if err != nil {
			return
		}
		sep := ",\n  "
		if n == 0 {
			sep = "[\n  "
		}
		n++
		var b []byte
		if b, err = json.MarshalIndent(c, "  ", "  "); err == nil {
			_, err = io.WriteString(w, sep+string(b))
		}
	})
	if err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	_, err = io.WriteString(w, end)
	return err
}

func endpointText(name, kind string) string {
	if kind == "IPBlock" {
		return name
	}
	return name + " (" + kind + ")"
}

// PortsText returns "all" or the comma-separated port ranges.
func PortsText(c Connection) string {
	if c.All {
		return "all"
	}
	return strings.Join(c.Ports, ",")
}

func streamText(w io.Writer, r *analyzer.Result) error {
	width := 0
	for _, e := range r.Endpoints() {
		width = max(width, len(endpointText(e.Name(), e.Kind())))
	}
	n := 0
	var err error
	each(r, func(c Connection) {
		n++
		if err == nil {
			_, err = fmt.Fprintf(w, "%-*s => %s : %s\n", width, endpointText(c.Src, c.SrcKind), endpointText(c.Dst, c.DstKind), PortsText(c))
		}
	})
	if err == nil && n == 0 {
		_, err = fmt.Fprintln(w, "no connections allowed")
	}
	return err
}

func streamCSV(w io.Writer, r *analyzer.Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"src", "srcKind", "dst", "dstKind", "all", "ports"})
	each(r, func(c Connection) {
		_ = cw.Write([]string{c.Src, c.SrcKind, c.Dst, c.DstKind, strconv.FormatBool(c.All), strings.Join(c.Ports, ";")})
	})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func streamMarkdown(w io.Writer, r *analyzer.Result) error {
	var err error
	write := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	write("| Source | Kind | Destination | Kind | Ports |\n| --- | --- | --- | --- | --- |\n")
	n := 0
	usedRanges := map[string]bool{}
	each(r, func(c Connection) {
		n++
		for _, e := range [][2]string{{c.Src, c.SrcKind}, {c.Dst, c.DstKind}} {
			if e[1] == "IPBlock" {
				usedRanges[e[0]] = true
			}
		}
		write("| %s | %s | %s | %s | %s |\n", mdEscape(c.Src), c.SrcKind, mdEscape(c.Dst), c.DstKind, mdEscape(PortsText(c)))
	})
	write("\n%d connections between %d endpoints.\n", n, len(r.Endpoints())-len(r.Ranges())+len(usedRanges))
	return err
}

func writeDot(w io.Writer, g Graph) error {
	var b strings.Builder
	b.WriteString("digraph connectivity {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	byNS := map[string][]Node{}
	var external []Node
	for _, n := range g.Nodes {
		if n.Kind == "IPBlock" {
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
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", strconv.Quote(c.Src), strconv.Quote(c.Dst), strconv.Quote(PortsText(c)))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SortConnections orders connections by source, then destination.
func SortConnections(cs []Connection) {
	slices.SortFunc(cs, func(a, b Connection) int { return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst)) })
}
