package waf

import (
	"context"
	"io"
)

// Stage is a request inspection that runs after CRS's request phases
// (headers and body) when CRS did not block: the place for API schema
// validation (OpenAPI) and bot protection. Implementations are safe for
// concurrent use and report their matches under their own catalogue
// checks.
type Stage interface {
	// Name names the stage in errors and logs.
	Name() string
	// Inspect judges req; body reads the buffered request body
	// (http.NoBody when there is none). An error is an engine failure,
	// handled by the proxy's fail-open or fail-closed setting.
	Inspect(ctx context.Context, req *Request, body io.Reader) (StageResult, error)
}

// StageResult is a stage's verdict.
type StageResult struct {
	// Matches are reported in the decision's events.
	Matches []Match
	// Block, when set, refuses the request (block mode only).
	Block *Block
}
