package proxy

import (
	"net/http"
	"time"
)

// Limits bound what a client may make the proxy hold.
type Limits struct {
	// ReadHeaderTimeout bounds the request line and headers (slowloris).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the whole request, body included.
	ReadTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// DefaultLimits are the limits kordon waf serve starts with.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       60 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxHeaderBytes:    64 << 10,
}

// NewServer returns an HTTP server for h with the limits, speaking
// HTTP/1.1 and HTTP/2 (over TLS when served with TLS, else h2c).
func NewServer(addr string, h http.Handler, l Limits) *http.Server {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		Protocols:         new(http.Protocols),
		// OPTIONS * goes through the WAF like every other request.
		DisableGeneralOptionsHandler: true,
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}
