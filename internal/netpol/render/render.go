package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
)

// AnalysisFormats lists the formats WriteAnalysis accepts.
func AnalysisFormats() []string { return []string{"txt", "json", "csv", "md", "dot", "html"} }

// DiffFormats lists the formats WriteDiff accepts.
func DiffFormats() []string { return []string{"txt", "json", "md"} }

// ExplanationFormats lists the formats WriteExplanation accepts.
func ExplanationFormats() []string { return []string{"txt", "json"} }

// GenerateReportFormats lists the formats WriteGenerateReport accepts.
func GenerateReportFormats() []string { return []string{"txt", "json"} }

// WriteAnalysis writes the connectivity of an analysis (kordon netpol
// analyze) as txt, json, csv, md, dot or html; "" is txt. The txt, json, csv
// and md formats stream the connections and never hold them all in memory;
// dot and html build the whole graph.
func WriteAnalysis(w io.Writer, format string, r *analyzer.Result) error {
	switch format {
	case "dot":
		return writeDot(w, FromResult(r))
	case "html":
		return writeHTML(w, FromResult(r))
	case "txt", "", "json", "csv", "md":
	default:
		return unknownFormat(format, AnalysisFormats())
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

// WriteDiff writes the changes in connectivity between two configurations
// (kordon netpol diff) as txt, json or md; "" is txt.
func WriteDiff(w io.Writer, format string, changes []diff.Change) error {
	switch format {
	case "txt", "":
		return writeDiffText(w, changes)
	case "json":
		return writeDiffJSON(w, changes)
	case "md":
		return writeDiffMarkdown(w, changes)
	}
	return unknownFormat(format, DiffFormats())
}

// WriteExplanation writes why a connection is allowed or denied (kordon
// netpol can) as txt or json; "" is txt.
func WriteExplanation(w io.Writer, format string, e explain.Explanation) error {
	switch format {
	case "txt", "":
		return writeExplanationText(w, e)
	case "json":
		return writeExplanationJSON(w, e)
	}
	return unknownFormat(format, ExplanationFormats())
}

// WriteGenerateReport writes the report of kordon netpol generate (the
// check of the generated policies) as txt or json; "" is txt. The policies
// themselves are YAML, written by compile.Marshal.
func WriteGenerateReport(w io.Writer, format string, res *generate.Result) error {
	switch format {
	case "txt", "":
		return writeReportText(w, res)
	case "json":
		return writeReportJSON(w, res)
	}
	return unknownFormat(format, GenerateReportFormats())
}

func unknownFormat(format string, formats []string) error {
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(formats, ", "))
}
