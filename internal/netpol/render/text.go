package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// streamText writes one line per connection, sources aligned:
// "SRC => DST : PORTS".
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
			_, err = fmt.Fprintf(w, "%-*s => %s : %s\n", width, endpointText(c.Src, c.SrcKind), endpointText(c.Dst, c.DstKind), portset.Text(c.Ports))
		}
	})
	if err == nil && n == 0 {
		_, err = fmt.Fprintln(w, "no connections allowed")
	}
	return err
}

// writeDiffText writes one line per change, marked + (added), - (removed)
// or ~ (changed).
func writeDiffText(w io.Writer, changes []diff.Change) error {
	var b strings.Builder
	if len(changes) == 0 {
		b.WriteString("no change in connectivity\n")
	}
	for _, c := range changes {
		sign := map[string]string{diff.Added: "+", diff.Removed: "-", diff.Changed: "~"}[c.Change]
		fmt.Fprintf(&b, "%s %s => %s : %s\n", sign, endpointText(c.Src, c.SrcKind), endpointText(c.Dst, c.DstKind), changeDetail(c))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// changeDetail returns the ports of an added or removed connection, and for
// a changed one the ports before and after with the ports gained and lost.
func changeDetail(c diff.Change) string {
	switch c.Change {
	case diff.Added:
		return portset.Text(c.New)
	case diff.Removed:
		return portset.Text(c.Old)
	}
	var parts []string
	if len(c.AddedPorts) > 0 {
		parts = append(parts, "+"+strings.Join(c.AddedPorts, ",+"))
	}
	if len(c.RemovedPorts) > 0 {
		parts = append(parts, "-"+strings.Join(c.RemovedPorts, ",-"))
	}
	return portset.Text(c.Old) + " -> " + portset.Text(c.New) + " (" + strings.Join(parts, " ") + ")"
}

// writeExplanationText writes the verdict, then each side: whether a policy
// restricts it, which rules match and the ports it allows.
func writeExplanationText(w io.Writer, e explain.Explanation) error {
	var b strings.Builder
	verdict := "DENIED"
	if e.Allowed {
		verdict = "ALLOWED"
	}
	what := ""
	if e.Port != nil {
		what = " on " + e.Port.String()
	}
	fmt.Fprintf(&b, "%s -> %s%s: %s\n", partyText(e.Src), partyText(e.Dst), what, verdict)
	if e.Port == nil || !e.Allowed {
		fmt.Fprintf(&b, "allowed ports: %s\n", e.Ports)
	}
	for _, s := range []explain.Side{e.Egress, e.Ingress} {
		fmt.Fprintf(&b, "\n%s of %s:\n", s.Direction, partyText(s.Endpoint))
		switch {
		case s.External():
			b.WriteString("  not restricted: addresses outside the cluster are not subject to policies\n")
			continue
		case !s.Isolated():
			fmt.Fprintf(&b, "  not restricted: no policy selects it for %s\n", s.Direction)
			continue
		}
		fmt.Fprintf(&b, "  restricted by %s\n", strings.Join(s.Policies, ", "))
		if len(s.Rules) == 0 {
			peer := "destination"
			if s.Direction == model.Ingress {
				peer = "source"
			}
			fmt.Fprintf(&b, "  no %s rule of these policies matches the %s\n", s.Direction, peer)
			continue
		}
		for _, r := range s.Rules {
			where := ""
			if r.Source != "" {
				where = " (" + r.Source + ")"
			}
			fmt.Fprintf(&b, "  %s %s rule %d%s matches, ports: %s\n", r.Policy, s.Direction, r.Rule, where, r.Ports)
		}
		fmt.Fprintf(&b, "  %s allows: %s\n", s.Direction, s.Ports)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeReportText writes the generate report as "kordon: " lines, the way
// kordon reports on standard error.
func writeReportText(w io.Writer, res *generate.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "kordon: generated %d policies from %d flows\n", len(res.Policies), res.Flows)
	if res.Unmatched > 0 {
		fmt.Fprintf(&b, "kordon: %d of %d flows matched no workload, for example:\n", res.Unmatched, res.Read)
		for _, u := range res.UnmatchedSample {
			fmt.Fprintf(&b, "  %s\n", u)
		}
	}
	for _, warning := range res.Warnings {
		fmt.Fprintf(&b, "kordon: warning: %s\n", warning)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(&b, "kordon: %s\n", c)
	}
	if len(res.NotAllowed) == 0 {
		b.WriteString("kordon: checked with the analyzer: every observed flow stays allowed\n")
	}
	for _, n := range res.NotAllowed {
		fmt.Fprintf(&b, "kordon: observed but NOT ALLOWED: %s\n", n)
	}
	if len(res.Beyond) > 0 {
		b.WriteString("kordon: allowed beyond the observed traffic:\n")
	}
	for _, e := range res.Beyond {
		fmt.Fprintf(&b, "  %s => %s : %s\n", e.Src, e.Dst, portset.Text(e.Ports))
	}
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "kordon: %s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
