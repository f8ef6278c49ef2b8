package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
	"time"
)

// CAReloader serves a pool of CA certificates read from a PEM file (the
// CA of the client certificate the API server presents) and reloads it
// when the file's content changes, as Reloader does for the serving pair:
// a rotated CA ConfigMap or Secret takes effect without a restart. A
// CAReloader is safe for concurrent use.
type CAReloader struct {
	file string

	mu   sync.RWMutex
	pool *x509.CertPool
	pem  []byte
}

// NewCAReloader loads the file once; an unreadable file or one without a
// CA certificate is an error.
func NewCAReloader(file string) (*CAReloader, error) {
	r := &CAReloader{file: file}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Pool returns the CA certificates in service.
func (r *CAReloader) Pool() *x509.CertPool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pool
}

// Reload reads the file and, when it changed and holds at least one valid
// certificate, puts it in service. It reports whether the pool changed. A
// file that holds no certificate, or a block that does not parse (a file
// being written), is an error and the previous pool stays in service.
func (r *CAReloader) Reload() (bool, error) {
	data, err := os.ReadFile(r.file)
	if err != nil {
		return false, fmt.Errorf("read client CA: %w", err)
	}
	r.mu.RLock()
	same := r.pool != nil && bytes.Equal(data, r.pem)
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	pool, err := parseCAs(r.file, data)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	r.pool, r.pem = pool, data
	r.mu.Unlock()
	return true, nil
}

// parseCAs parses every CERTIFICATE block of data; there must be one, and
// each must parse.
func parseCAs(file string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client CA %s: certificate %d: %w", file, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("client CA %s: no PEM certificate", file)
	}
	return pool, nil
}

// Run checks the file every interval until ctx ends. onError receives
// reload failures (may be nil); onReload is called after a new pool is in
// service (may be nil).
func (r *CAReloader) Run(ctx context.Context, interval time.Duration, onReload func(), onError func(error)) {
	reloadEvery(ctx, interval, r.Reload, onReload, onError)
}
