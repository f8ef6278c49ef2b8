package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// JSONSchemaVersion identifies the layout of the JSON format, documented in
// docs/json-output.md and docs/schemas/scan-report.schema.json. Fields may be
// added within a version; renaming or removing one needs a new version.
const JSONSchemaVersion = "kordon.io/scan/v1"

// writeJSON writes the report with a schema version, the time it was made
// and what was scanned in front. The finding lists are written one finding
// at a time, so a large report is never held in memory twice.
func writeJSON(w io.Writer, r *finding.Report, opts Options) error {
	jw := &jsonWriter{w: bufio.NewWriter(w)}
	jw.raw("{\n")
	jw.field("schemaVersion", JSONSchemaVersion)
	jw.field("generatedAt", opts.Now.Format(time.RFC3339))
	if opts.Target != "" {
		jw.field("target", opts.Target)
	}
	if opts.Config != "" {
		jw.field("config", opts.Config)
	}
	jw.field("tool", r.Tool)
	jw.findings("findings", r.Findings)
	jw.findings("suppressed", r.Suppressed)
	jw.field("expiredExceptions", r.ExpiredExceptions)
	jw.field("scores", r.Scores)
	jw.field("errors", r.Errors)
	jw.field("warnings", r.Warnings)
	jw.last("summary", r.Summary)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

// jsonWriter writes an indented JSON object field by field, in the layout
// encoding/json's indenting encoder produces, remembering the first error.
type jsonWriter struct {
	w   *bufio.Writer
	err error
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

func (jw *jsonWriter) value(prefix string, v any) {
	if jw.err != nil {
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		jw.err = fmt.Errorf("encode JSON: %w", err)
		return
	}
	_, jw.err = jw.w.Write(bytes.TrimRight(b.Bytes(), "\n"))
}

func (jw *jsonWriter) key(name string) { jw.raw("  \"" + name + "\": ") }

func (jw *jsonWriter) field(name string, v any) {
	jw.key(name)
	jw.value("  ", v)
	jw.raw(",\n")
}

func (jw *jsonWriter) last(name string, v any) {
	jw.key(name)
	jw.value("  ", v)
	jw.raw("\n")
}

func (jw *jsonWriter) findings(name string, fs []finding.Finding) {
	jw.key(name)
	if len(fs) == 0 {
		jw.raw("[],\n")
		return
	}
	jw.raw("[\n")
	// Findings are encoded in chunks in parallel (large scans have tens of
	// thousands) and written in order; only a few chunks are held at a
	// time, so the encoded report is never all in memory.
	const chunk = 512
	chunks := (len(fs) + chunk - 1) / chunk
	type encoded struct {
		data []byte
		err  error
	}
	window := 2 * runtime.GOMAXPROCS(0)
	pending := make([]chan encoded, 0, window)
	encode := func(c int) chan encoded {
		done := make(chan encoded, 1)
		go func() {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("    ", "  ")
			for i := c * chunk; i < min((c+1)*chunk, len(fs)); i++ {
				b.WriteString("    ")
				if err := enc.Encode(&fs[i]); err != nil {
					done <- encoded{err: fmt.Errorf("encode JSON: %w", err)}
					return
				}
				b.Truncate(b.Len() - 1) // the encoder's newline
				if i < len(fs)-1 {
					b.WriteString(",\n")
				} else {
					b.WriteString("\n")
				}
			}
			done <- encoded{data: b.Bytes()}
		}()
		return done
	}
	next := 0
	for next < chunks && len(pending) < window {
		pending = append(pending, encode(next))
		next++
	}
	for len(pending) > 0 {
		e := <-pending[0]
		pending = pending[1:]
		if jw.err == nil && e.err != nil {
			jw.err = e.err
		}
		if jw.err == nil {
			_, jw.err = jw.w.Write(e.data)
		}
		if next < chunks {
			pending = append(pending, encode(next))
			next++
		}
	}
	jw.raw("  ],\n")
}
