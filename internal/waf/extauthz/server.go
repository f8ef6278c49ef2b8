package extauthz

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
)

// Options configure a Server.
type Options struct {
	// Catalogue supplies the checks' metadata for events.
	Catalogue *rules.Catalogue
	// Events receives every decision with a matched rule or a denial;
	// safe for concurrent use. Nil drops them.
	Events func(finding.Event)
	// FailOpen allows a request the engine failed to inspect; the
	// default denies it (503).
	FailOpen bool
	// Logger logs engine failures; nil is silent.
	Logger *slog.Logger
}

// Server implements authv3.AuthorizationServer; safe for concurrent use.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	engine *waf.Engine
	opts   Options
}

var _ authv3.AuthorizationServer = (*Server)(nil)

// New returns an ext_authz server for the engine.
func New(e *waf.Engine, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{engine: e, opts: opts}
}

// NewGRPCServer returns a gRPC server with s registered, its messages
// bounded in size (a Check carries at most Envoy's buffered body).
func NewGRPCServer(s *Server) *grpc.Server {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(s.engine.Config().RequestBodyLimit + 1<<20))
	authv3.RegisterAuthorizationServer(gs, s)
	return gs
}

// HeaderRequestID is the header of the denial that names the request.
const HeaderRequestID = "x-kordon-request-id"

// Check judges one request Envoy describes.
func (s *Server) Check(ctx context.Context, in *authv3.CheckRequest) (resp *authv3.CheckResponse, err error) {
	h := in.GetAttributes().GetRequest().GetHttp()
	if h == nil {
		return deny(http.StatusBadRequest, "", "no HTTP request attributes"), nil
	}
	req := &waf.Request{ID: h.GetHeaders()["x-request-id"], Method: h.GetMethod(), URI: h.GetPath(),
		Proto: protocol(h.GetProtocol()), Host: h.GetHost(), Header: make(http.Header, len(h.GetHeaders()))}
	if len(req.ID) > 128 {
		req.ID = req.ID[:128]
	}
	for k, v := range h.GetHeaders() {
		if strings.HasPrefix(k, ":") || k == "host" {
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		k := hv.GetKey()
		if strings.HasPrefix(k, ":") || k == "host" {
			continue
		}
		v := hv.GetValue()
		if v == "" {
			v = string(hv.GetRawValue())
		}
		req.Header.Add(k, v)
	}
	req.ClientAddr, req.ClientPort = address(in.GetAttributes().GetSource().GetAddress())
	req.ServerAddr, req.ServerPort = address(in.GetAttributes().GetDestination().GetAddress())

	tx := s.engine.Begin(req)
	defer func() {
		if v := recover(); v != nil {
			s.opts.Logger.Error("waf engine failure", "panic", fmt.Sprint(v))
			resp, err = s.failure(req, fmt.Errorf("panic: %v", v)), nil
		}
	}()
	b, err := tx.RequestHeaders(ctx)
	if err == nil && b == nil {
		var body io.Reader
		if raw := h.GetRawBody(); len(raw) > 0 {
			body = bytes.NewReader(raw)
		} else if h.GetBody() != "" {
			body = strings.NewReader(h.GetBody())
		}
		b, _, err = tx.RequestBody(ctx, body)
	}
	if err != nil {
		// Close the transaction (a no-op for one still being evaluated
		// past its time bound) and report only the failure.
		tx.Finish()
		s.opts.Logger.Error("waf engine failure", "requestID", req.ID, "err", err)
		return s.failure(req, err), nil
	}
	d := tx.Finish()
	s.emit(d)
	if b != nil {
		status := b.Status
		if status < 400 || status > 599 {
			status = http.StatusForbidden
		}
		return deny(status, req.ID, fmt.Sprintf("%d %s: refused by the web application firewall.\nRequest ID: %s\n", status, http.StatusText(status), req.ID)), nil
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
	}, nil
}

func (s *Server) emit(d *waf.Decision) {
	if s.opts.Events == nil || (len(d.Matches) == 0 && d.Blocked == nil) {
		return
	}
	evs, err := d.Events(time.Now(), s.opts.Catalogue)
	if err != nil {
		s.opts.Logger.Error("waf events", "err", err)
	}
	for _, e := range evs {
		e.Attributes["via"] = "ext_authz"
		s.opts.Events(e)
	}
}

func (s *Server) failure(req *waf.Request, cause error) *authv3.CheckResponse {
	if s.opts.Events != nil {
		if f, err := s.opts.Catalogue.Finding(waf.CheckEngineFailure, rules.Outcome{
			Resource: finding.Resource{Kind: "HTTPRequest", Name: req.Method + " " + req.Host + req.URI},
			Failed:   true, Message: cause.Error()}); err == nil {
			action := finding.ActionBlocked
			if s.opts.FailOpen {
				action = finding.ActionAllowed
			}
			s.opts.Events(finding.Event{Time: time.Now().UTC(), Engine: rules.EngineWAF, Action: action,
				Actor: &finding.Actor{Address: req.ClientAddr}, Finding: f,
				Attributes: map[string]string{"requestID": req.ID, "via": "ext_authz"}})
		}
	}
	if s.opts.FailOpen {
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}}}
	}
	return deny(http.StatusServiceUnavailable, req.ID, "the web application firewall could not inspect the request\n")
}

func deny(status int, id, body string) *authv3.CheckResponse {
	hs := []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "content-type", Value: "text/plain; charset=utf-8"}}}
	if id != "" {
		hs = append(hs, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: HeaderRequestID, Value: id}})
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: hs,
			Body:    body,
		}},
	}
}

func protocol(p string) string {
	if p == "" {
		return "HTTP/1.1"
	}
	return p
}

func address(a *corev3.Address) (string, int) {
	sa := a.GetSocketAddress()
	if sa == nil {
		return "", 0
	}
	return sa.GetAddress(), int(sa.GetPortValue())
}
