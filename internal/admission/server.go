package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	// Gatherer serves /metrics; nil serves no metrics.
	Gatherer prometheus.Gatherer
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

// Serve serves HTTPS on ln until ctx ends, then drains: /readyz turns 503,
// after DrainDelay the listener closes and requests in flight finish
// (within ShutdownTimeout). It returns nil after a clean shutdown.
//
// Paths: POST /validate, GET /healthz (200 while the process serves),
// GET /readyz (200 once Ready and until shutdown), GET /metrics.
func Serve(ctx context.Context, ln net.Listener, opts ServerOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var draining atomic.Bool
	mux := http.NewServeMux()
	mux.Handle(ValidatePath, opts.Webhook)
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
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: opts.GetCertificate,
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	log.Info("admission webhook serving", "address", ln.Addr().String())
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
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("admission webhook stopped")
	return nil
}
