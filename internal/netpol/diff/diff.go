package diff

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// The kinds of change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change is one connection whose allowed ports differ.
type Change struct {
	Change  string `json:"change"`
	Src     string `json:"src"`
	SrcKind string `json:"srcKind"`
	Dst     string `json:"dst"`
	DstKind string `json:"dstKind"`
	// Old and New are the allowed ports before and after (empty when the
	// connection was not allowed).
	Old []string `json:"old"`
	New []string `json:"new"`
	// AddedPorts and RemovedPorts are the ports that became allowed and
	// those that stopped being allowed.
	AddedPorts   []string `json:"addedPorts"`
	RemovedPorts []string `json:"removedPorts"`
}

type key struct{ src, srcKind, dst, dstKind string }

// Diff compares the connectivity of two configurations.
func Diff(old, new *model.Cluster) []Change {
	extra := append(old.IPBlockPrefixes(), new.IPBlockPrefixes()...)
	before := connections(analyzer.Analyze(old, analyzer.Options{ExtraPrefixes: extra}))
	after := connections(analyzer.Analyze(new, analyzer.Options{ExtraPrefixes: extra}))
	var out []Change
	for k, o := range before {
		n := after[k]
		if o.Equal(n) {
			continue
		}
		kind := Changed
		if n.IsEmpty() {
			kind = Removed
		}
		out = append(out, change(kind, k, o, n))
	}
	for k, n := range after {
		if _, ok := before[k]; !ok {
			out = append(out, change(Added, k, portset.Empty(), n))
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst), cmp.Compare(a.SrcKind, b.SrcKind), cmp.Compare(a.DstKind, b.DstKind))
	})
	return out
}

func change(kind string, k key, o, n portset.Set) Change {
	return Change{Change: kind, Src: k.src, SrcKind: k.srcKind, Dst: k.dst, DstKind: k.dstKind,
		Old: list(o), New: list(n), AddedPorts: list(n.Subtract(o)), RemovedPorts: list(o.Subtract(n))}
}

func list(s portset.Set) []string {
	if out := s.Strings(); out != nil {
		return out
	}
	return []string{}
}

func connections(r *analyzer.Result) map[key]portset.Set {
	eps := r.Endpoints()
	out := map[key]portset.Set{}
	for _, c := range r.Connections() {
		out[key{eps[c.Src].Name(), eps[c.Src].Kind(), eps[c.Dst].Name(), eps[c.Dst].Kind()}] = c.Ports
	}
	return out
}

// Formats lists the formats Write accepts.
func Formats() []string { return []string{"txt", "json", "md"} }

// Write renders changes as txt, json or md.
func Write(w io.Writer, format string, changes []Change) error {
	var b strings.Builder
	switch format {
	case "json":
		if changes == nil {
			changes = []Change{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(changes); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
		return nil
	case "txt", "":
		if len(changes) == 0 {
			b.WriteString("no change in connectivity\n")
		}
		for _, c := range changes {
			sign := map[string]string{Added: "+", Removed: "-", Changed: "~"}[c.Change]
			fmt.Fprintf(&b, "%s %s => %s : %s\n", sign, endpoint(c.Src, c.SrcKind), endpoint(c.Dst, c.DstKind), detail(c))
		}
	case "md":
		b.WriteString("| Change | Source | Destination | Before | After |\n| --- | --- | --- | --- | --- |\n")
		for _, c := range changes {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Change, endpoint(c.Src, c.SrcKind), endpoint(c.Dst, c.DstKind), ports(c.Old), ports(c.New))
		}
		counts := map[string]int{}
		for _, c := range changes {
			counts[c.Change]++
		}
		fmt.Fprintf(&b, "\n%d added, %d removed, %d changed.\n", counts[Added], counts[Removed], counts[Changed])
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func endpoint(name, kind string) string {
	if kind == "IPBlock" {
		return name
	}
	return name + " (" + kind + ")"
}

func ports(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	if len(ps) == 3 && ps[0] == "TCP/1-65535" && ps[1] == "UDP/1-65535" && ps[2] == "SCTP/1-65535" {
		return "all"
	}
	return strings.Join(ps, ",")
}

func detail(c Change) string {
	switch c.Change {
	case Added:
		return ports(c.New)
	case Removed:
		return ports(c.Old)
	}
	var parts []string
	if len(c.AddedPorts) > 0 {
		parts = append(parts, "+"+strings.Join(c.AddedPorts, ",+"))
	}
	if len(c.RemovedPorts) > 0 {
		parts = append(parts, "-"+strings.Join(c.RemovedPorts, ",-"))
	}
	return ports(c.Old) + " -> " + ports(c.New) + " (" + strings.Join(parts, " ") + ")"
}
