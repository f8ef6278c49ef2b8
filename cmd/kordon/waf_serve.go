package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
	"github.com/kordon-dev/kordon/internal/waf/bot"
	"github.com/kordon-dev/kordon/internal/waf/extauthz"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

type wafServeFlags struct {
	listen, upstream, extAuthz  string
	configFile                  string
	paranoia, inbound, outbound int
	mode                        string
	testMode, failOpen          bool
	inspectTimeout              time.Duration
	maxOverdue                  int
	reqBody, respBody           int
	certFile, keyFile           string
	eventsFile                  string
	limits                      proxy.Limits
	shutdownTimeout             time.Duration
	openapi, unknownRoute       string
	botsFile                    string
	gcPercent                   int
	noScreen                    bool
}

func newWAFServeCmd() *cobra.Command {
	f := &wafServeFlags{limits: proxy.DefaultLimits}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the WAF as a reverse proxy (--listen, --upstream) and/or an Envoy ext_authz server (--ext-authz)",
		Long: `serve runs the OWASP Core Rule Set v4 (embedded) in Coraza on every request.

With --listen and --upstream it is a reverse proxy (HTTP/1.1, HTTP/2 over TLS
or h2c, WebSocket pass-through): requests pass CRS's request phases before
they reach the upstream, responses pass the response phases before they reach
the client. With --ext-authz it answers Envoy's ext_authz v3 Check calls over
gRPC with the same engine (Istio AuthorizationPolicy action CUSTOM). Both may
run in one process.

In --mode block (default) a request whose inbound anomaly score reaches
--inbound-threshold (CRS default 5), or a response whose outbound score
reaches --outbound-threshold (4), is refused with 403 and a request ID; a
request body over --request-body-limit gets 413. --mode detect evaluates and
logs every rule and blocks nothing. Every decision with a matched rule is an
event (JSON lines on standard output, or --events-file), reported under the
catalogue's KOR-WAF-* checks (kordon rules list --tag waf) with the CRS rule
IDs, anomaly scores and redacted matched data.

--test-mode is a testing aid for CRS's regression suite, never for
production: every response carries X-Kordon-Waf-Rules with the IDs of the
logged rules that matched, and CRS's regression-test settings apply (rule
900005: paranoia level 4, --paranoia is ignored). See docs/waf.md.`,
		Example: `  kordon waf serve --listen :8080 --upstream http://127.0.0.1:3000
  kordon waf serve --listen :8080 --upstream http://app:3000 --paranoia 2 --mode detect
  kordon waf serve --ext-authz :9000
  kordon waf serve --listen :8080 --upstream http://app:3000 --config waf.yaml --events-file /var/log/waf.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWAFServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "reverse proxy listen address, e.g. :8080 (needs --upstream)")
	fl.StringVar(&f.upstream, "upstream", "", "URL requests are forwarded to, e.g. http://127.0.0.1:3000")
	fl.StringVar(&f.extAuthz, "ext-authz", "", "Envoy ext_authz v3 gRPC listen address, e.g. :9000")
	fl.StringVar(&f.configFile, "config", "", "YAML file with per-route rule exclusions (docs/waf.md)")
	fl.IntVar(&f.paranoia, "paranoia", waf.DefaultParanoia, "CRS blocking and detection paranoia level, 1 to 4")
	fl.IntVar(&f.inbound, "inbound-threshold", waf.DefaultInboundThreshold, "inbound anomaly score that blocks a request")
	fl.IntVar(&f.outbound, "outbound-threshold", waf.DefaultOutboundThreshold, "outbound anomaly score that blocks a response")
	fl.StringVar(&f.mode, "mode", string(waf.ModeBlock), "block: refuse what reaches the thresholds; detect: log only")
	fl.BoolVar(&f.testMode, "test-mode", false, "testing aid for CRS's regression suite: X-Kordon-Waf-Rules header, CRS test settings (never in production)")
	fl.BoolVar(&f.failOpen, "fail-open", false, "forward a request uninspected when the engine fails (default: fail closed, 503)")
	fl.DurationVar(&f.inspectTimeout, "inspect-timeout", waf.DefaultInspectTimeout, "engine time bound of one request (and of one response body); past it the request fails like an engine failure (503, or passed with --fail-open) and a KOR-WAF-003 event says it was not fully inspected")
	fl.IntVar(&f.maxOverdue, "max-overdue", waf.DefaultMaxOverdue, "inspections past --inspect-timeout that may still run in the background; beyond, new requests fail uninspected")
	fl.IntVar(&f.reqBody, "request-body-limit", waf.DefaultRequestBodyLimit, "largest request body in bytes (larger: 413)")
	fl.IntVar(&f.respBody, "response-body-limit", waf.DefaultResponseBodyLimit, "bytes of a response body inspected (the rest passes uninspected)")
	fl.StringVar(&f.certFile, "tls-cert", "", "serve the proxy over TLS with this certificate (PEM)")
	fl.StringVar(&f.keyFile, "tls-key", "", "key of --tls-cert (PEM)")
	fl.StringVar(&f.eventsFile, "events-file", "", "append events (JSON lines) to this file instead of standard output")
	fl.DurationVar(&f.limits.ReadHeaderTimeout, "read-header-timeout", f.limits.ReadHeaderTimeout, "time a client has to send the request headers (slowloris)")
	fl.DurationVar(&f.limits.ReadTimeout, "read-timeout", f.limits.ReadTimeout, "time a client has to send the whole request")
	fl.DurationVar(&f.limits.IdleTimeout, "idle-timeout", f.limits.IdleTimeout, "idle keep-alive connections are closed after this")
	fl.IntVar(&f.limits.MaxHeaderBytes, "max-header-bytes", f.limits.MaxHeaderBytes, "largest request line and headers in bytes (larger: 431)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 20*time.Second, "on SIGTERM, time to finish requests in flight")
	fl.StringVar(&f.openapi, "openapi", "", "OpenAPI 3.0/3.1 specification of the upstream API: requests that break it are blocked (KOR-WAF-101..105; docs/waf-api.md)")
	fl.StringVar(&f.unknownRoute, "unknown-route", "block", "with --openapi, what a request for an undeclared route does: block or log")
	fl.BoolVar(&f.noScreen, "no-screen", false, "evaluate every CRS rule in Coraza for every request instead of first proving, in Kordon's rule screen, that CRS's detection rules cannot match (same verdicts, several times slower; for diagnosis)")
	fl.IntVar(&f.gcPercent, "gc-percent", waf.DefaultGCPercent, "Go garbage collector target (GOGC): higher spends less CPU per request and more memory; 0 keeps Go's default or the GOGC variable (which also wins when this flag is not given)")
	fl.StringVar(&f.botsFile, "bots", "", "bot protection configuration (rate limits, user agents, JavaScript challenge; YAML, docs/waf-bots.md); the proxy only")
	return cmd
}

func runWAFServe(cmd *cobra.Command, f *wafServeFlags) error {
	if f.listen == "" && f.extAuthz == "" {
		return usageErr(errors.New("nothing to serve: give --listen with --upstream, --ext-authz, or both"))
	}
	if (f.listen == "") != (f.upstream == "") {
		return usageErr(errors.New("--listen and --upstream go together"))
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return usageErr(errors.New("--tls-cert and --tls-key go together"))
	}
	if f.gcPercent < 0 {
		return usageErr(fmt.Errorf("--gc-percent %d: want 0 (Go's default) or a positive percentage", f.gcPercent))
	}
	cfg := waf.Config{Paranoia: f.paranoia, InboundThreshold: f.inbound, OutboundThreshold: f.outbound,
		Mode: waf.Mode(f.mode), TestMode: f.testMode, RequestBodyLimit: f.reqBody, ResponseBodyLimit: f.respBody,
		InspectTimeout: f.inspectTimeout, MaxOverdue: f.maxOverdue, NoScreen: f.noScreen}
	if f.configFile != "" {
		fc, err := waf.LoadFile(f.configFile)
		if err != nil {
			return usageErr(err)
		}
		cfg.Exclusions = fc.Exclusions
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
	if f.testMode {
		log.Warn("test mode: CRS regression-test settings and X-Kordon-Waf-Rules headers; never use it in production")
	}
	var upstream *url.URL
	if f.upstream != "" {
		u, err := url.Parse(f.upstream)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return usageErr(fmt.Errorf("--upstream %q: want an http:// or https:// URL with a host", f.upstream))
		}
		upstream = u
	}
	var stages []waf.Stage
	if f.openapi != "" {
		data, err := readSpec(f.openapi)
		if err != nil {
			return usageErr(err)
		}
		schema, err := apischema.Load(data, f.openapi, apischema.Options{UnknownRoute: apischema.UnknownRoute(f.unknownRoute)})
		if err != nil {
			return usageErr(err)
		}
		stages = append(stages, schema.Stage())
	}
	var guard *bot.Guard
	if f.botsFile != "" {
		if f.listen == "" {
			return usageErr(errors.New("--bots works with the reverse proxy (--listen): ext_authz cannot answer with a challenge or Retry-After"))
		}
		bc, err := bot.LoadConfig(f.botsFile)
		if err != nil {
			return usageErr(err)
		}
		if guard, err = bot.New(bc, nil); err != nil {
			return usageErr(fmt.Errorf("%s: %w", f.botsFile, err))
		}
	}
	engine, err := waf.New(cfg, stages...)
	if err != nil {
		return usageErr(err)
	}
	if _, env := os.LookupEnv("GOGC"); f.gcPercent > 0 && (cmd.Flags().Changed("gc-percent") || !env) {
		debug.SetGCPercent(f.gcPercent)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return err
	}
	var out io.Writer = cmd.OutOrStdout()
	if f.eventsFile != "" {
		file, err := os.OpenFile(f.eventsFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return usageErr(err)
		}
		defer file.Close()
		out = file
	}
	sink := eventWriter(out)

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	var servers []func(context.Context) error
	if f.listen != "" {
		p, err := proxy.New(engine, proxy.Options{Upstream: upstream, Catalogue: cat, Events: sink, FailOpen: f.failOpen, Logger: log, Guard: guard})
		if err != nil {
			return usageErr(err)
		}
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return err
		}
		srv := proxy.NewServer(f.listen, p, f.limits)
		log.Info("waf proxy listening", "addr", ln.Addr().String(), "upstream", upstream.String(), "mode", cfg.Mode)
		go func() {
			var err error
			if f.certFile != "" {
				err = srv.ServeTLS(ln, f.certFile, f.keyFile)
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("proxy: %w", err)
			}
		}()
		servers = append(servers, srv.Shutdown)
	}
	if f.extAuthz != "" {
		ln, err := net.Listen("tcp", f.extAuthz)
		if err != nil {
			return err
		}
		gs := extauthz.NewGRPCServer(extauthz.New(engine, extauthz.Options{Catalogue: cat, Events: sink, FailOpen: f.failOpen, Logger: log}))
		log.Info("waf ext_authz listening", "addr", ln.Addr().String(), "mode", cfg.Mode)
		go func() {
			if err := gs.Serve(ln); err != nil {
				errc <- fmt.Errorf("ext_authz: %w", err)
			}
		}()
		servers = append(servers, func(ctx context.Context) error {
			done := make(chan struct{})
			go func() { gs.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				gs.Stop()
			}
			return nil
		})
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	for _, s := range servers {
		_ = s(sctx)
	}
	return err
}

// eventWriter returns a sink writing events as JSON lines to w.
func eventWriter(w io.Writer) func(finding.Event) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(e finding.Event) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(e)
	}
}
