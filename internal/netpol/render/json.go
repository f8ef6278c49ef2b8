package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
)

// The JSON formats are stable contracts, documented in docs/netpol-json.md
// (with JSON Schemas in docs/schemas for analyze and diff): every one is
// indented by two spaces, ends with a newline and writes empty lists as [].

// encodeJSON writes v indented, followed by a newline.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// WriteJSON writes connections as the JSON contract of kordon netpol
// analyze: an indented array, "[]" when there are none.
func WriteJSON(w io.Writer, conns []Connection) error {
	return encodeJSON(w, nonNil(conns))
}

// streamJSON writes what WriteJSON writes for every connection of an
// analysis, one connection at a time.
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

// writeDiffJSON writes the changes as an array of diff.Change.
func writeDiffJSON(w io.Writer, changes []diff.Change) error {
	return encodeJSON(w, nonNil(changes))
}

// explanationJSON is the JSON contract of kordon netpol can.
type explanationJSON struct {
	Src     string   `json:"src"`
	Dst     string   `json:"dst"`
	Egress  sideJSON `json:"egress"`
	Ingress sideJSON `json:"ingress"`
	Allowed bool     `json:"allowed"`
	// Port is the queried port ("TCP/80"), absent when none was given.
	Port         string   `json:"port,omitempty"`
	AllowedPorts []string `json:"allowedPorts"`
}

type sideJSON struct {
	Direction string     `json:"direction"`
	Endpoint  string     `json:"endpoint"`
	External  bool       `json:"external"`
	Policies  []string   `json:"policies"`
	Rules     []ruleJSON `json:"rules"`
}

type ruleJSON struct {
	Policy string   `json:"policy"`
	Rule   int      `json:"rule"`
	Source string   `json:"source,omitempty"`
	Ports  []string `json:"ports"`
}

func writeExplanationJSON(w io.Writer, e explain.Explanation) error {
	out := explanationJSON{
		Src: partyText(e.Src), Dst: partyText(e.Dst),
		Egress: sideToJSON(e.Egress), Ingress: sideToJSON(e.Ingress),
		Allowed: e.Allowed, AllowedPorts: nonNil(e.Ports.Strings()),
	}
	if e.Port != nil {
		out.Port = e.Port.String()
	}
	return encodeJSON(w, out)
}

func sideToJSON(s explain.Side) sideJSON {
	out := sideJSON{Direction: s.Direction.String(), Endpoint: partyText(s.Endpoint), External: s.External(),
		Policies: nonNil(s.Policies), Rules: []ruleJSON{}}
	for _, r := range s.Rules {
		out.Rules = append(out.Rules, ruleJSON{Policy: r.Policy, Rule: r.Rule, Source: r.Source, Ports: nonNil(r.Ports.Strings())})
	}
	return out
}

// writeReportJSON writes the generate report: generate.Result as its JSON
// tags define it.
func writeReportJSON(w io.Writer, res *generate.Result) error {
	return encodeJSON(w, res)
}

// nonNil returns s, or an empty slice for nil so that it encodes as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
