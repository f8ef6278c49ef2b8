package apischema

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// MaxSpecSize is the largest specification Load accepts (16 MiB): the
// largest public API descriptions (cloud providers') are a few MiB.
const MaxSpecSize = 16 << 20

// UnknownRoute says what to do with a request for a route the
// specification does not declare.
type UnknownRoute string

const (
	// UnknownRouteBlock makes an undeclared route a blocking violation.
	UnknownRouteBlock UnknownRoute = "block"
	// UnknownRouteLog reports an undeclared route without blocking it.
	UnknownRouteLog UnknownRoute = "log"
)

// Options tune a Schema.
type Options struct {
	// UnknownRoute applies to requests for routes the specification does
	// not declare (default block). A method the route does not declare is
	// always a violation that blocks.
	UnknownRoute UnknownRoute
}

// Schema is a loaded, validated API specification.
type Schema struct {
	name    string
	version string
	model   *v3.Document
	valid   validator.Validator
	vopts   *config.ValidationOptions
	unknown UnknownRoute
	routes  int
	// bases are the path prefixes of the servers the document lists;
	// empty when one of them is at the root.
	bases []string
}

// Load parses and checks an OpenAPI 3.0 or 3.1 specification (YAML or
// JSON); name (a file name) prefixes its errors. Swagger 2.0, references to
// other files or URLs, and a document that breaks the OpenAPI schema are
// errors, with line and column where the specification gives them.
func Load(data []byte, name string, opts Options) (*Schema, error) {
	if len(data) > MaxSpecSize {
		return nil, fmt.Errorf("%s: specification of %d bytes is larger than the limit of %d", name, len(data), MaxSpecSize)
	}
	switch opts.UnknownRoute {
	case "":
		opts.UnknownRoute = UnknownRouteBlock
	case UnknownRouteBlock, UnknownRouteLog:
	default:
		return nil, fmt.Errorf("unknown-route action %q: want block or log", opts.UnknownRoute)
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(data, &datamodel.DocumentConfiguration{
		AllowFileReferences:   false,
		AllowRemoteReferences: false,
		Logger:                quiet,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: not an OpenAPI document: %w", name, err)
	}
	info := doc.GetSpecInfo()
	if info == nil || info.SpecType != "openapi" || info.VersionNumeric < 3 {
		v := ""
		if info != nil {
			v = info.Version
		}
		return nil, fmt.Errorf("%s: OpenAPI 3.0 or 3.1 required (the document declares %q; convert Swagger 2.0 with a converter such as swagger2openapi)", name, v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	vopts := []config.Option{
		config.WithFormatAssertions(), config.WithContentAssertions(),
		config.WithStrictServerMatching(), config.WithLogger(quiet),
		// Keys are the specification's path templates and patterns, so
		// the cache is bounded by the specification.
		config.WithRegexCache(&sync.Map{}),
	}
	v := validator.NewValidatorFromV3Model(&model.Model, vopts...)
	v.SetDocument(doc)
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("%s: %w", name, documentError(errs))
	}
	s := &Schema{
		name:    name,
		version: info.Version,
		model:   &model.Model,
		valid:   v,
		vopts:   config.NewValidationOptions(vopts...),
		unknown: opts.UnknownRoute,
	}
	if s.model.Paths != nil && s.model.Paths.PathItems != nil {
		s.routes = s.model.Paths.PathItems.Len()
	}
	s.bases = serverBases(s.model.Servers)
	if s.routes == 0 {
		return nil, fmt.Errorf("%s: the specification declares no paths, so it would reject every request", name)
	}
	return s, nil
}

// serverBases returns the path prefixes of the servers ("/api/v1" for
// https://example.com/api/v1/), or nil when an API is served at the root.
// A server URL with variables in its path contributes the part before the
// first variable.
func serverBases(servers []*v3.Server) []string {
	var bases []string
	for _, srv := range servers {
		raw := srv.URL
		if i := strings.Index(raw, "://"); i >= 0 {
			raw = raw[i+3:]
			if j := strings.IndexByte(raw, '/'); j >= 0 {
				raw = raw[j:]
			} else {
				raw = ""
			}
		}
		if i := strings.IndexByte(raw, '{'); i >= 0 {
			raw = raw[:i]
		}
		raw = strings.TrimSuffix(raw, "/")
		if raw == "" {
			return nil
		}
		bases = append(bases, raw)
	}
	return bases
}

// underServer reports whether the request path is below one of the
// servers' paths (always, when there are none).
func (s *Schema) underServer(path string) bool {
	if len(s.bases) == 0 {
		return true
	}
	for _, b := range s.bases {
		if path == b || strings.HasPrefix(path, b+"/") {
			return true
		}
	}
	return false
}

// quiet discards the libraries' own logs: Load reports what matters.
var quiet = slog.New(slog.DiscardHandler)

// operation returns the item's operation for method, or nil.
func operation(item *v3.PathItem, method string) *v3.Operation {
	switch method {
	case http.MethodGet:
		return item.Get
	case http.MethodPut:
		return item.Put
	case http.MethodPost:
		return item.Post
	case http.MethodDelete:
		return item.Delete
	case http.MethodOptions:
		return item.Options
	case http.MethodHead:
		return item.Head
	case http.MethodPatch:
		return item.Patch
	case http.MethodTrace:
		return item.Trace
	}
	return nil
}

// documentError lists the first problems of a specification that breaks
// the OpenAPI schema, with their lines.
func documentError(errs []*vErrors.ValidationError) error {
	var msgs []string
	for _, e := range errs {
		if len(e.SchemaValidationErrors) == 0 {
			msgs = append(msgs, e.Message)
		}
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if f.Line > 0 {
				loc = fmt.Sprintf("line %d:%d %s", f.Line, f.Column, f.FieldPath)
			}
			msgs = append(msgs, strings.TrimSpace(loc+": "+f.Reason))
		}
		if len(msgs) >= 10 {
			msgs = append(msgs[:10], "…")
			break
		}
	}
	return fmt.Errorf("invalid OpenAPI document:\n  %s", strings.Join(msgs, "\n  "))
}

// Version is the OpenAPI version the specification declares.
func (s *Schema) Version() string { return s.version }

// Routes is the number of paths the specification declares.
func (s *Schema) Routes() int { return s.routes }

// Kind classifies a violation; each kind is one check of the catalogue
// (see IDs).
type Kind string

const (
	UnknownRouteKind     Kind = "unknown-route"
	MethodNotAllowedKind Kind = "method-not-allowed"
	ParameterKind        Kind = "parameter"
	BodyKind             Kind = "body"
	SecurityKind         Kind = "security"
)

// Violation is one way a request breaks the specification.
type Violation struct {
	Kind Kind `json:"kind"`
	// In is where: path, query, header, cookie or body.
	In string `json:"in,omitempty"`
	// Field names the parameter or the body field (a JSON pointer), when
	// the validator says.
	Field string `json:"field,omitempty"`
	// Message explains the violation. It may quote the request.
	Message string `json:"message"`
}

// Verdict is the judgement of one request.
type Verdict struct {
	// Route is the declared route the request matched ("GET /pets/{id}"),
	// empty for an unknown route.
	Route      string      `json:"route,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// Block is true when a violation blocks the request (every violation
	// but an unknown route under UnknownRouteLog).
	Block bool `json:"block"`
}

// Check judges a request against the specification. body is the request
// body as the caller read it (nil for none); r.Body is not read. Check is
// safe for concurrent use.
func (s *Schema) Check(r *http.Request, body []byte) Verdict {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	var item *v3.PathItem
	var errs []*vErrors.ValidationError
	var template string
	if s.underServer(r.URL.EscapedPath()) {
		item, errs, template = paths.FindPath(req, s.model, s.vopts)
	}
	if item == nil {
		v := Verdict{}
		for _, e := range errs {
			if e.ValidationSubType == helpers.ValidationMissingOperation {
				v.Route = r.Method + " " + template
				v.Violations = append(v.Violations, Violation{Kind: MethodNotAllowedKind, Message: e.Message})
				v.Block = true
				return v
			}
		}
		v.Violations = []Violation{{Kind: UnknownRouteKind, Message: fmt.Sprintf("%s %s is not a route of the API", r.Method, r.URL.Path)}}
		v.Block = s.unknown == UnknownRouteBlock
		return v
	}
	v := Verdict{Route: r.Method + " " + template}
	if operation(item, r.Method) == nil {
		v.Violations = []Violation{{Kind: MethodNotAllowedKind, Message: fmt.Sprintf("%s is not a method of %s", r.Method, template)}}
		v.Block = true
		return v
	}
	_, verrs := s.valid.ValidateHttpRequestSyncWithPathItem(req, item, template)
	for _, e := range verrs {
		v.Violations = append(v.Violations, violationOf(e)...)
	}
	slices.SortStableFunc(v.Violations, func(a, b Violation) int {
		return strings.Compare(string(a.Kind)+a.In+a.Field, string(b.Kind)+b.In+b.Field)
	})
	v.Block = len(v.Violations) > 0
	return v
}

// violationOf turns a validator error into violations, one per schema
// failure when it lists them.
func violationOf(e *vErrors.ValidationError) []Violation {
	base := Violation{Kind: ParameterKind, In: e.ValidationSubType, Message: e.Message}
	switch e.ValidationType {
	case helpers.ParameterValidation:
		base.Field = e.ParameterName
	case helpers.RequestBodyValidation, helpers.RequestValidation, helpers.URLEncodedValidation, helpers.XmlValidation:
		base.Kind, base.In = BodyKind, "body"
	case helpers.SecurityValidation:
		base.Kind, base.In = SecurityKind, "header"
	default:
		if e.ValidationType != "" && base.In == "" {
			base.In = e.ValidationType
		}
	}
	if e.Reason != "" && e.Reason != e.Message {
		base.Message = e.Message + ": " + e.Reason
	}
	if len(e.SchemaValidationErrors) == 0 {
		return []Violation{base}
	}
	out := make([]Violation, 0, len(e.SchemaValidationErrors))
	for _, f := range e.SchemaValidationErrors {
		v := base
		if f.FieldPath != "" {
			v.Field = f.FieldPath
		}
		v.Message = e.Message + ": " + f.Reason
		out = append(out, v)
	}
	return out
}
