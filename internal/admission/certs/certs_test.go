package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePair(t *testing.T, dir string, p Pair) (string, string) {
	t.Helper()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(key, p.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, p.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateVerifies(t *testing.T) {
	b, err := Generate("kordon-webhook.kordon-system.svc", []string{"kordon-webhook.kordon-system.svc", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CA.CertPEM) {
		t.Fatal("CA PEM not accepted")
	}
	leaf := parse(t, b.Serving.CertPEM)
	for _, host := range []string{"kordon-webhook.kordon-system.svc", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: pool}); err == nil {
		t.Errorf("verify for another host: got no error")
	}
	if _, err := tls.X509KeyPair(b.Serving.CertPEM, b.Serving.KeyPEM); err != nil {
		t.Errorf("serving pair: %v", err)
	}
}

func TestReloaderPicksUpRotation(t *testing.T) {
	b, err := Generate("w", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := writePair(t, dir, b.Serving)
	r, err := NewReloader(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.String()
	}
	first := serial()
	if changed, err := r.Reload(); changed || err != nil {
		t.Errorf("Reload of unchanged files: got changed=%v err=%v, want false, nil", changed, err)
	}

	// A half-written rotation (new certificate, old key) keeps the old pair.
	next, err := b.Sign("w", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, next.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(); err == nil {
		t.Errorf("Reload of a mismatched pair: got no error")
	}
	if got := serial(); got != first {
		t.Errorf("after a failed reload: serving %s, want still %s", got, first)
	}

	writePair(t, dir, next)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloaded := make(chan struct{}, 1)
	go r.Run(ctx, 10*time.Millisecond, func() { reloaded <- struct{}{} }, nil)
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("the rotated certificate was not picked up")
	}
	if got, want := serial(), parse(t, next.CertPEM).SerialNumber.String(); got != want {
		t.Errorf("after rotation: serving %s, want %s", got, want)
	}
}

func TestNewReloaderErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewReloader(filepath.Join(dir, "missing.crt"), filepath.Join(dir, "missing.key")); err == nil {
		t.Error("missing files: got no error")
	}
}

func TestCAReloader(t *testing.T) {
	a, err := Generate("a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("b", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.crt")
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// trusts reports whether the pool in service verifies a client
	// certificate of ca.
	trusts := func(r *CAReloader, ca *Bundle) bool {
		t.Helper()
		p, err := ca.SignClient("x", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, err = parse(t, p.CertPEM).Verify(x509.VerifyOptions{Roots: r.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err == nil
	}
	for _, bad := range []string{"", "not PEM", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		write([]byte(bad))
		if _, err := NewCAReloader(file); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("NewCAReloader(%q): got %v, want an error naming the file", bad, err)
		}
	}
	// Two CAs in one file (a rotation in progress) are both trusted.
	write(append(append([]byte{}, a.CA.CertPEM...), b.CA.CertPEM...))
	r, err := NewCAReloader(file)
	if err != nil {
		t.Fatal(err)
	}
	if !trusts(r, a) || !trusts(r, b) {
		t.Errorf("a file with two CAs: want both trusted")
	}
	write(b.CA.CertPEM)
	if changed, err := r.Reload(); !changed || err != nil {
		t.Fatalf("Reload after rotation: changed=%v err=%v", changed, err)
	}
	if trusts(r, a) || !trusts(r, b) {
		t.Errorf("after rotation to b: want only b trusted")
	}
	if changed, err := r.Reload(); changed || err != nil {
		t.Errorf("Reload of an unchanged file: changed=%v err=%v", changed, err)
	}
	write([]byte("garbage"))
	if _, err := r.Reload(); err == nil {
		t.Errorf("Reload of a broken file: no error")
	}
	if !trusts(r, b) {
		t.Errorf("after a broken file: want b still trusted")
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(); err == nil {
		t.Errorf("Reload of a missing file: no error")
	}
}
