package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ServerOptions configures Serve.
type ServerOptions struct {
	// Webhook answers POST /validate.
	Webhook http.Handler
	// GetCertificate returns the serving certificate (a certs.Reloader's).
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// OpsListener serves /healthz, /readyz and /metrics over plain HTTP,
	// apart from the webhook's TLS port; nil serves none of them.
	OpsListener net.Listener
	// Gatherer serves /metrics on OpsListener; nil serves no metrics.
	Gatherer prometheus.Gatherer
	// ClientCAs, when set, makes the TLS port require a client certificate
	// signed by one of them (the API server's, see docs/admission.md); a
	// client without one is refused during the handshake. Nil accepts any
	// client.
	ClientCAs *x509.CertPool
	// GetClientCAs, when set, replaces ClientCAs: it is asked for the pool
	// on every handshake (a certs.CAReloader's Pool), so that a rotated
	// client CA takes effect without a restart.
	GetClientCAs func() *x509.CertPool
	// ClientCNs, when set with ClientCAs, are the only common names a
	// client certificate may have.
	ClientCNs []string
	// MinTLSVersion is the lowest TLS version accepted; 0 means TLS 1.3.
	MinTLSVersion uint16
	// Ready reports whether the caches have synced; /readyz answers 503
	// until it returns true. Nil means always ready.
	Ready func() bool
	// DrainDelay is how long /readyz reports 503 before the server stops
	// accepting connections, so that endpoints drop the pod first.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long requests in flight may take to
	// finish after shutdown starts; default 10s.
	ShutdownTimeout time.Duration
	// Logger logs the server's life; nil discards.
	Logger *slog.Logger
}

// ValidatePath is where the webhook answers AdmissionReviews.
const ValidatePath = "/validate"

// Serve serves the webhook over HTTPS on ln, and the operational
// endpoints over plain HTTP on opts.OpsListener, until ctx ends, then
// drains: /readyz turns 503, after DrainDelay the listeners close and
// requests in flight finish (within ShutdownTimeout). It returns nil after
// a clean shutdown.
//
// Paths: POST /validate on ln; GET /healthz (200 while the process
// serves), GET /readyz (200 once Ready and until shutdown) and GET
// /metrics on OpsListener.
func Serve(ctx context.Context, ln net.Listener, opts ServerOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var draining atomic.Bool
	webhookMux := http.NewServeMux()
	webhookMux.Handle(ValidatePath, opts.Webhook)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case draining.Load():
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case opts.Ready != nil && !opts.Ready():
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	})
	if opts.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	tlsConfig := &tls.Config{MinVersion: opts.MinTLSVersion, GetCertificate: opts.GetCertificate}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS13
	}
	clientAuth := opts.ClientCAs != nil || opts.GetClientCAs != nil
	if clientAuth {
		tlsConfig.ClientAuth = tls.RequireAndVerifyClientCert
		tlsConfig.ClientCAs = opts.ClientCAs
		if len(opts.ClientCNs) > 0 {
			tlsConfig.VerifyConnection = func(cs tls.ConnectionState) error {
				cn := cs.PeerCertificates[0].Subject.CommonName
				if !slices.Contains(opts.ClientCNs, cn) {
					return fmt.Errorf("client certificate CN %q is not one of %s", cn, strings.Join(opts.ClientCNs, ", "))
				}
				return nil
			}
		}
	}
	if opts.GetClientCAs != nil {
		tlsConfig.GetConfigForClient = clientCAConfig(tlsConfig, opts.GetClientCAs)
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       90 * time.Second,
			// TLS handshake failures (a client without a certificate) are
			// logged at debug: anyone who can reach the port can cause them.
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
	}
	srv := newServer(webhookMux)
	srv.TLSConfig = tlsConfig
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	var ops *http.Server
	if opts.OpsListener != nil {
		ops = newServer(mux)
		go func() { errc <- ops.Serve(opts.OpsListener) }()
		log.Info("admission webhook operations serving", "address", opts.OpsListener.Addr().String(), "paths", "/healthz /readyz /metrics")
	}
	log.Info("admission webhook serving", "address", ln.Addr().String(), "clientAuth", clientAuth)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	log.Info("admission webhook draining", "delay", opts.DrainDelay)
	if opts.DrainDelay > 0 {
		time.Sleep(opts.DrainDelay)
	}
	timeout := opts.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	servers := 1
	if ops != nil {
		servers++
		if err := ops.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	for i := 0; i < servers; i++ {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	log.Info("admission webhook stopped")
	return nil
}

// clientCAConfig returns a GetConfigForClient that serves base with the
// client CA pool pools returns now. The config is rebuilt only when the
// pool changes.
func clientCAConfig(base *tls.Config, pools func() *x509.CertPool) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	type cached struct {
		pool *x509.CertPool
		cfg  *tls.Config
	}
	var cur atomic.Pointer[cached]
	return func(*tls.ClientHelloInfo) (*tls.Config, error) {
		pool := pools()
		if c := cur.Load(); c != nil && c.pool == pool {
			return c.cfg, nil
		}
		cfg := base.Clone()
		cfg.GetConfigForClient = nil
		cfg.ClientCAs = pool
		cur.Store(&cached{pool: pool, cfg: cfg})
		return cfg, nil
	}
}
