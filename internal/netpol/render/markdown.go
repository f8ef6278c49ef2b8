package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// streamMarkdown writes a table of the connections and a line counting
// them and the endpoints that take part.
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
			if e[1] == analyzer.IPBlockKind {
				usedRanges[e[0]] = true
			}
		}
		write("| %s | %s | %s | %s | %s |\n", mdEscape(c.Src), c.SrcKind, mdEscape(c.Dst), c.DstKind, mdEscape(portset.Text(c.Ports)))
	})
	write("\n%d connections between %d endpoints.\n", n, len(r.Endpoints())-len(r.Ranges())+len(usedRanges))
	return err
}

// writeDiffMarkdown writes a table of the changes and a line counting them
// by kind.
func writeDiffMarkdown(w io.Writer, changes []diff.Change) error {
	var b strings.Builder
	b.WriteString("| Change | Source | Destination | Before | After |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range changes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Change, endpointText(c.Src, c.SrcKind), endpointText(c.Dst, c.DstKind), portset.Text(c.Old), portset.Text(c.New))
	}
	counts := map[string]int{}
	for _, c := range changes {
		counts[c.Change]++
	}
	fmt.Fprintf(&b, "\n%d added, %d removed, %d changed.\n", counts[diff.Added], counts[diff.Removed], counts[diff.Changed])
	_, err := io.WriteString(w, b.String())
	return err
}
