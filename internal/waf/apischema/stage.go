package apischema

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kordon-dev/kordon/internal/waf"
)

// The catalogue checks of the violation kinds.
const (
	CheckUnknownRoute     = "KOR-WAF-101"
	CheckMethodNotAllowed = "KOR-WAF-102"
	CheckParameter        = "KOR-WAF-103"
	CheckBody             = "KOR-WAF-104"
	CheckSecurity         = "KOR-WAF-105"
)

// IDs lists the checks the API schema stage reports.
func IDs() []string {
	return []string{CheckUnknownRoute, CheckMethodNotAllowed, CheckParameter, CheckBody, CheckSecurity}
}

// CheckOf returns the catalogue check of a violation kind.
func CheckOf(k Kind) string {
	switch k {
	case UnknownRouteKind:
		return CheckUnknownRoute
	case MethodNotAllowedKind:
		return CheckMethodNotAllowed
	case BodyKind:
		return CheckBody
	case SecurityKind:
		return CheckSecurity
	}
	return CheckParameter
}

// Stage returns the schema as a WAF stage: it runs after the OWASP rules
// and reports each violation as a match of its check; a blocking verdict
// refuses the request with 403 in block mode.
func (s *Schema) Stage() waf.Stage { return stage{s} }

type stage struct{ s *Schema }

func (stage) Name() string { return "openapi" }

// Inspect judges the request; the body is the engine's buffered copy,
// already within the request body limit.
func (st stage) Inspect(ctx context.Context, req *waf.Request, body io.Reader) (waf.StageResult, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return waf.StageResult{}, fmt.Errorf("read the buffered body: %w", err)
	}
	host := req.Host
	if host == "" {
		host = "localhost"
	}
	target := req.URI
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, "http://"+host+target, nil)
	if err != nil {
		// A target Go cannot parse is no route of the API.
		return waf.StageResult{
			Matches: []waf.Match{{Check: CheckUnknownRoute, Message: "request target is not a valid URL"}},
			Block:   blockIf(st.s.unknown == UnknownRouteBlock),
		}, nil
	}
	r.Header = req.Header
	v := st.s.Check(r, data)
	var res waf.StageResult
	for _, vi := range v.Violations {
		msg := vi.Message
		if vi.Field != "" {
			msg = vi.In + " " + vi.Field + ": " + msg
		}
		res.Matches = append(res.Matches, waf.Match{Check: CheckOf(vi.Kind), Message: msg})
	}
	res.Block = blockIf(v.Block)
	return res, nil
}

func blockIf(b bool) *waf.Block {
	if !b {
		return nil
	}
	return &waf.Block{Status: http.StatusForbidden}
}
