// Package pipeline turns what an engine found into the report every output
// format renders and the verdict a CI gate acts on, the same way for every
// engine (kordon scan, kordon netpol lint, and the engines to come):
// exceptions (files and object annotations, with expiry), sorting,
// per-framework compliance scores, the summary, and the exit code.
//
// Engines produce an Input; Build makes the finding.Report; a Gate judges
// it. Nothing here knows which engine ran.
package pipeline
