package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// JSONSchemaVersion identifies the layout of the JSON format, documented in
// docs/json-output.md and docs/schemas/scan-report.schema.json. Fields may be
// added within a version; renaming or removing one needs a new version.
const JSONSchemaVersion = "kordon.io/scan/v1"

// jsonReport is the JSON document: the report with a schema version, the
// time it was made and what was scanned in front.
type jsonReport struct {
	SchemaVersion string `json:"schemaVersion"`
	GeneratedAt   string `json:"generatedAt"`
	Target        string `json:"target,omitempty"`
	*finding.Report
}

func writeJSON(w io.Writer, r *finding.Report, opts Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonReport{
		SchemaVersion: JSONSchemaVersion,
		GeneratedAt:   opts.Now.Format(time.RFC3339),
		Target:        opts.Target,
		Report:        r,
	})
}
