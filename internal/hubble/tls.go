package hubble

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TLSOptions say how to reach Hubble. Hubble Relay with TLS on needs the
// CA that signed its certificate, a client certificate (mutual TLS) and
// the server name its certificate holds (such as
// *.hubble-relay.cilium.io), since the address is often a Service IP.
type TLSOptions struct {
	// Plaintext turns TLS off; it must be asked for, and excludes the rest.
	Plaintext bool
	// CAFile holds the PEM certificates that may sign the server's; empty
	// trusts the system's roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and key (PEM), for
	// servers that require one.
	CertFile, KeyFile string
	// ServerName is the name checked in the server's certificate; empty
	// uses the host of the address.
	ServerName string
}

// Credentials returns the gRPC transport credentials of o. Errors name the
// file that could not be used.
func (o TLSOptions) Credentials() (credentials.TransportCredentials, error) {
	if o.Plaintext {
		if o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.ServerName != "" {
			return nil, errors.New("plaintext with TLS options: give one or the other")
		}
		return insecure.NewCredentials(), nil
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("client certificate and key go together")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA %s: no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}
