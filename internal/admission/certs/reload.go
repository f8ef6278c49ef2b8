package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// Reloader serves a certificate and key read from files and reloads them
// when their contents change (checked every interval by Run). Kubernetes
// updates mounted Secrets by swapping a symlink, which a content check
// sees where inotify on the file would not. A Reloader is safe for
// concurrent use.
type Reloader struct {
	certFile, keyFile string

	mu      sync.RWMutex
	cert    *tls.Certificate
	certPEM []byte
	keyPEM  []byte
}

// NewReloader loads the pair once; an unreadable or invalid pair is an error.
func NewReloader(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// Reload reads the files and, when they changed and form a valid pair,
// serves the new certificate. It reports whether the certificate changed.
// An invalid pair (say, the certificate written but not yet the key) is an
// error and the previous certificate stays in service.
func (r *Reloader) Reload() (bool, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, fmt.Errorf("read key: %w", err)
	}
	r.mu.RLock()
	same := r.cert != nil && bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM)
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.mu.Lock()
	r.cert, r.certPEM, r.keyPEM = &pair, certPEM, keyPEM
	r.mu.Unlock()
	return true, nil
}

// Run checks the files every interval until ctx ends. onError receives
// reload failures (may be nil); onReload is called after a new certificate
// is in service (may be nil).
func (r *Reloader) Run(ctx context.Context, interval time.Duration, onReload func(), onError func(error)) {
	reloadEvery(ctx, interval, r.Reload, onReload, onError)
}

func tlsPair(p Pair) (tls.Certificate, error) {
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load pair: %w", err)
	}
	return c, nil
}

// reloadEvery calls reload every interval until ctx ends, passing its
// errors to onError and a change to onReload (either may be nil).
func reloadEvery(ctx context.Context, interval time.Duration, reload func() (bool, error), onReload func(), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := reload()
			if err != nil && onError != nil {
				onError(err)
			}
			if changed && onReload != nil {
				onReload()
			}
		}
	}
}
