package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/bot"
)

// Response headers set by the proxy.
const (
	// HeaderRequestID carries the request ID on every response.
	HeaderRequestID = "X-Kordon-Request-Id"
	// HeaderRules carries, in test mode only, the IDs of the logged rules
	// that matched in phases 1 to 5, ascending, comma-separated.
	HeaderRules = "X-Kordon-Waf-Rules"
)

// Options configure a Proxy.
type Options struct {
	// Upstream is where requests go (scheme, host, optional path prefix).
	Upstream *url.URL
	// Catalogue supplies the checks' metadata for events.
	Catalogue *rules.Catalogue
	// Events receives every decision with a matched rule or a block; it
	// must be safe for concurrent use. Nil drops them.
	Events func(finding.Event)
	// FailOpen forwards a request uninspected when the engine fails
	// (an internal error); the default, fail-closed, answers 503.
	FailOpen bool
	// Logger logs engine failures and upstream errors; nil is silent.
	Logger *slog.Logger
	// Transport reaches the upstream; nil is a tuned http.Transport.
	Transport http.RoundTripper
	// Guard, when set, judges every request for bots (rate limits, user
	// agents, the JavaScript challenge) before the WAF engine; a request it
	// blocks or challenges never reaches the engine.
	Guard *bot.Guard
}

// Proxy is an http.Handler; safe for concurrent use.
type Proxy struct {
	engine *waf.Engine
	opts   Options
	rp     *httputil.ReverseProxy
	test   bool
}

// New returns a proxy in front of opts.Upstream.
func New(e *waf.Engine, opts Options) (*Proxy, error) {
	if opts.Upstream == nil || opts.Upstream.Host == "" || (opts.Upstream.Scheme != "http" && opts.Upstream.Scheme != "https") {
		return nil, errors.New("upstream: want an http:// or https:// URL with a host")
	}
	if opts.Catalogue == nil {
		return nil, errors.New("no catalogue")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Transport == nil {
		opts.Transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			ExpectContinueTimeout: time.Second,
			// Bodies are passed as they are; the WAF inspects what the
			// upstream would see.
			DisableCompression: true,
		}
	}
	p := &Proxy{engine: e, opts: opts, test: e.Config().TestMode}
	target := opts.Upstream
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport:      opts.Transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		FlushInterval:  -1,
	}
	return p, nil
}

// state is one request's passage, carried in the request context to the
// reverse proxy's hooks.
type state struct {
	tx       *waf.Tx
	client   string
	finished bool
	decision *waf.Decision
}

type stateKey struct{}

// errBlocked is returned by modifyResponse when the response is refused.
var errBlocked = errors.New("response blocked by the WAF")

// ServeHTTP inspects and forwards one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &state{}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.opts.Logger.Error("waf engine failure", "panic", fmt.Sprint(v))
			p.engineFailure(w, r, st, fmt.Errorf("panic: %v", v))
		}
	}()
	req := requestOf(r)
	st.client = req.ClientAddr
	if req.ID == "" {
		req.ID = waf.NewRequestID()
	}
	w.Header().Set(HeaderRequestID, req.ID)
	if p.opts.Guard != nil && p.guard(w, r, req) {
		return
	}
	st.tx = p.engine.Begin(req)
	w.Header().Set(HeaderRequestID, st.tx.ID())
	b, err := st.tx.RequestHeaders(r.Context())
	if err != nil {
		p.opts.Logger.Error("waf engine failure", "requestID", req.ID, "err", err)
		p.engineFailure(w, r, st, err)
		return
	}
	if b != nil {
		p.refuse(w, st, b)
		return
	}
	var body io.Reader
	tr := &trackingReader{r: r.Body}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		body = tr
	}
	b, fwd, err := st.tx.RequestBody(r.Context(), body)
	switch {
	case err != nil && tr.err != nil:
		// The client's body did not arrive whole (closed, timed out, over
		// the server's limits).
		p.finish(st)
		http.Error(w, "request body could not be read", http.StatusBadRequest)
		return
	case err != nil:
		p.opts.Logger.Error("waf engine failure", "requestID", req.ID, "err", err)
		p.engineFailure(w, r, st, err)
		return
	case b != nil:
		p.refuse(w, st, b)
		return
	}
	out := r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	if fwd != http.NoBody {
		out.Body = io.NopCloser(fwd)
	} else {
		out.Body = http.NoBody
	}
	p.rp.ServeHTTP(w, out)
	if !st.finished {
		// A response ModifyResponse never saw (a hijacked upgrade
		// failure, an aborted handler).
		p.finish(st)
	}
}

// modifyResponse runs the response phases before the response is sent.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(stateKey{}).(*state)
	if st == nil {
		return nil
	}
	if b := st.tx.ResponseHeaders(resp.StatusCode, resp.Proto, resp.Header); b != nil {
		_ = resp.Body.Close()
		return errBlocked
	}
	if st.tx.InspectsResponseBody() && resp.Body != nil && resp.Body != http.NoBody {
		limit := int64(p.engine.Config().ResponseBodyLimit)
		buf, err := io.ReadAll(io.LimitReader(resp.Body, limit))
		if err != nil {
			_ = resp.Body.Close()
			return fmt.Errorf("read upstream response: %w", err)
		}
		b, err := st.tx.ResponseBody(resp.Request.Context(), buf)
		if err != nil {
			return err
		}
		if b != nil {
			_ = resp.Body.Close()
			return errBlocked
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	} else if _, err := st.tx.ResponseBody(resp.Request.Context(), nil); err != nil {
		return err
	}
	d := p.finish(st)
	if p.test {
		resp.Header.Set(HeaderRules, d.LoggedIDsHeader())
	}
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(stateKey{}).(*state)
	if errors.Is(err, errBlocked) && st != nil {
		p.refuse(w, st, st.tx.Blocked())
		return
	}
	if !errors.Is(err, context.Canceled) {
		p.opts.Logger.Warn("upstream error", "err", err)
	}
	if st != nil && !st.finished {
		d := p.finish(st)
		if p.test {
			w.Header().Set(HeaderRules, d.LoggedIDsHeader())
		}
	}
	w.WriteHeader(http.StatusBadGateway)
}

// refuse answers a blocked request with the block's status and the
// request ID.
func (p *Proxy) refuse(w http.ResponseWriter, st *state, b *waf.Block) {
	d := p.finish(st)
	h := w.Header()
	for k := range h {
		if k != HeaderRequestID {
			delete(h, k)
		}
	}
	h.Set(HeaderRequestID, st.tx.ID())
	if p.test {
		h.Set(HeaderRules, d.LoggedIDsHeader())
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	status := http.StatusForbidden
	if b != nil && b.Status >= 400 && b.Status < 600 {
		status = b.Status
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s: refused by the web application firewall.\nRequest ID: %s\n", status, http.StatusText(status), st.tx.ID())
}

func (p *Proxy) engineFailure(w http.ResponseWriter, r *http.Request, st *state, err error) {
	if st.tx != nil && !st.finished {
		// The transaction may be broken: close it (temporary body files)
		// but report only the failure.
		st.finished = true
		func() {
			defer func() { _ = recover() }()
			st.tx.Finish()
		}()
	}
	p.emitFailure(st, r, err)
	if p.opts.FailOpen && r.ContentLength == 0 {
		p.rp.ServeHTTP(w, r)
		return
	}
	http.Error(w, "the web application firewall could not inspect the request", http.StatusServiceUnavailable)
}

// finish closes the transaction once and emits its events.
func (p *Proxy) finish(st *state) *waf.Decision {
	if st.finished {
		if st.decision == nil {
			return &waf.Decision{}
		}
		return st.decision
	}
	st.finished = true
	st.decision = st.tx.Finish()
	if p.opts.Events != nil && (len(st.decision.Matches) > 0 || st.decision.Blocked != nil) {
		evs, err := st.decision.Events(time.Now(), p.opts.Catalogue)
		if err != nil {
			p.opts.Logger.Error("waf events", "err", err)
		}
		for _, e := range evs {
			p.opts.Events(e)
		}
	}
	return st.decision
}

func (p *Proxy) emitFailure(st *state, r *http.Request, err error) {
	if p.opts.Events == nil {
		return
	}
	f, ferr := p.opts.Catalogue.Finding(waf.CheckEngineFailure, rules.Outcome{
		Resource: finding.Resource{Kind: "HTTPRequest", Name: r.Method + " " + r.Host + r.URL.Path},
		Failed:   true, Message: err.Error()})
	if ferr != nil {
		p.opts.Logger.Error("waf events", "err", ferr)
		return
	}
	action := finding.ActionBlocked
	if p.opts.FailOpen {
		action = finding.ActionAllowed
	}
	id := ""
	if st.tx != nil {
		id = st.tx.ID()
	}
	p.opts.Events(finding.Event{Time: time.Now().UTC(), Engine: rules.EngineWAF, Action: action,
		Actor: &finding.Actor{Address: st.client}, Finding: f,
		Attributes: map[string]string{"requestID": id, "method": r.Method, "host": r.Host, "path": r.URL.Path}})
}

// guard runs the bot checks; it reports whether it answered the request.
// The client is the proxy's peer.
func (p *Proxy) guard(w http.ResponseWriter, r *http.Request, req *waf.Request) bool {
	ip, err := netip.ParseAddr(req.ClientAddr)
	if err != nil {
		ip = netip.IPv4Unspecified()
	}
	v := p.opts.Guard.Judge(r, ip)
	if p.opts.Events != nil {
		for _, d := range v.Decisions {
			action := finding.ActionObserved
			switch d.Action {
			case bot.Block, bot.Challenge:
				action = finding.ActionBlocked
			}
			f, err := p.opts.Catalogue.Finding(d.Check.CatalogueID(), rules.Outcome{
				Resource: finding.Resource{Kind: "HTTPRequest", Name: r.Method + " " + r.Host + r.URL.Path},
				Failed:   true, Message: d.Reason})
			if err != nil {
				p.opts.Logger.Error("waf events", "err", err)
				continue
			}
			attrs := map[string]string{"requestID": req.ID, "method": r.Method, "host": r.Host, "path": r.URL.Path, "botAction": string(d.Action)}
			if d.Limit != "" {
				attrs["rateLimit"] = d.Limit
			}
			p.opts.Events(finding.Event{Time: time.Now().UTC(), Engine: rules.EngineWAF, Action: action,
				Actor: &finding.Actor{Address: req.ClientAddr}, Finding: f, Attributes: attrs})
		}
	}
	return p.opts.Guard.Respond(w, r, v, req.ID)
}

// requestOf describes r for the engine.
func requestOf(r *http.Request) *waf.Request {
	req := &waf.Request{
		Method: r.Method,
		URI:    r.RequestURI,
		Proto:  r.Proto,
		Host:   r.Host,
		Header: r.Header,
	}
	if req.URI == "" {
		req.URI = r.URL.RequestURI()
	}
	if len(r.TransferEncoding) > 0 {
		// net/http moves Transfer-Encoding out of the headers; CRS judges it.
		req.Header = r.Header.Clone()
		req.Header["Transfer-Encoding"] = []string{strings.Join(r.TransferEncoding, ", ")}
	}
	req.ClientAddr, req.ClientPort = splitHostPort(r.RemoteAddr)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		req.ServerAddr, req.ServerPort = splitHostPort(la.String())
	}
	return req
}

func splitHostPort(hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// trackingReader remembers the client's read error, so that a broken
// client body is told apart from an engine failure.
type trackingReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (t *trackingReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if err != nil && err != io.EOF {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
	}
	return n, err
}
