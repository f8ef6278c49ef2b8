package hubble

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/kordon-dev/kordon/internal/hubble/hubbletest"
)

// pki is a CA with a server certificate for *.hubble-relay.cilium.io and
// a client certificate, as Cilium's Hubble Relay TLS uses.
type pki struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hubble-ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var p pki
	p.caFile = write("ca.crt", "CERTIFICATE", caDER)
	srvDER, srvKey := issue(2, "*.hubble-relay.cilium.io", x509.ExtKeyUsageServerAuth)
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, "kordon", x509.ExtKeyUsageClientAuth)
	p.certFile = write("client.crt", "CERTIFICATE", cliDER)
	keyDER, _ := x509.MarshalECPrivateKey(cliKey)
	p.keyFile = write("client.key", "EC PRIVATE KEY", keyDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	return p
}

// TestMutualTLS follows a server that requires a client certificate, as
// Hubble Relay with TLS does, and checks that a wrong server name or a
// missing client certificate get no flows.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	hs := hubbletest.New(time.Now().Add(-time.Hour))
	srvCreds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})
	_, addr := hubbletest.Serve(t, "127.0.0.1:0", hs, grpc.Creds(srvCreds))
	base := time.Now().UTC().Add(-time.Minute)

	for _, c := range []struct {
		name string
		o    TLSOptions
		ok   bool
	}{
		{"CA, client certificate and server name", TLSOptions{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile, ServerName: "instance.hubble-relay.cilium.io"}, true},
		{"another server name", TLSOptions{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile, ServerName: "hubble.example"}, false},
		{"no client certificate", TLSOptions{CAFile: p.caFile, ServerName: "instance.hubble-relay.cilium.io"}, false},
		{"system roots", TLSOptions{CertFile: p.certFile, KeyFile: p.keyFile, ServerName: "instance.hubble-relay.cilium.io"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds, err := c.o.Credentials()
			if err != nil {
				t.Fatal(err)
			}
			ts := newTestStore(t)
			before := len(hs.Requests())
			f, stop := follow(t, Options{Addr: addr, Credentials: creds, Append: ts.api.Ingest, FlushInterval: 10 * time.Millisecond})
			if c.ok {
				waitFor(t, "the stream", func() bool { return len(hs.Requests()) > before })
				hs.Add(hubbletest.TCPFlow(c.name, base, "10.0.1.5", "10.0.2.7", 443))
				waitFor(t, "the flow", func() bool { return f.Stats().Flows == 1 })
			} else {
				waitFor(t, "failed attempts", func() bool { return f.Stats().Reconnects >= 2 })
				if n := len(hs.Requests()); n != before {
					t.Errorf("the server got %d GetFlows calls", n-before)
				}
			}
			stop()
		})
	}
}
