package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Pair is a PEM-encoded certificate and its private key.
type Pair struct {
	CertPEM, KeyPEM []byte
}

// Bundle is a CA and a serving certificate it signed.
type Bundle struct {
	CA      Pair
	Serving Pair
}

// Generate makes a CA valid for validity and a serving certificate for the
// given DNS names and IP addresses signed by it. Keys are ECDSA P-256.
func Generate(commonName string, hosts []string, validity time.Duration) (*Bundle, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName + " CA", Organization: []string{"kordon"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}
	ca, err := encode(caDER, caKey)
	if err != nil {
		return nil, err
	}
	serving, err := sign(caCert, caKey, commonName, hosts, now, validity, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	return &Bundle{CA: ca, Serving: serving}, nil
}

// Sign makes a new serving certificate with the bundle's CA, for rotation.
func (b *Bundle) Sign(commonName string, hosts []string, validity time.Duration) (Pair, error) {
	return b.signWith(commonName, hosts, validity, x509.ExtKeyUsageServerAuth)
}

// SignClient makes a client certificate with the bundle's CA: the one the
// API server presents to the webhook (its kubeconfig for webhooks, see
// docs/admission.md), with commonName as the name the webhook allows.
func (b *Bundle) SignClient(commonName string, validity time.Duration) (Pair, error) {
	return b.signWith(commonName, nil, validity, x509.ExtKeyUsageClientAuth)
}

func (b *Bundle) signWith(commonName string, hosts []string, validity time.Duration, usage x509.ExtKeyUsage) (Pair, error) {
	caPair, err := tlsPair(b.CA)
	if err != nil {
		return Pair{}, err
	}
	caCert, err := x509.ParseCertificate(caPair.Certificate[0])
	if err != nil {
		return Pair{}, fmt.Errorf("parse CA: %w", err)
	}
	key, ok := caPair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return Pair{}, fmt.Errorf("CA key is %T, want ECDSA", caPair.PrivateKey)
	}
	return sign(caCert, key, commonName, hosts, time.Now(), validity, usage)
}

func sign(ca *x509.Certificate, caKey *ecdsa.PrivateKey, commonName string, hosts []string, now time.Time, validity time.Duration, usage x509.ExtKeyUsage) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, fmt.Errorf("generate serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"kordon"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Pair{}, fmt.Errorf("sign certificate: %w", err)
	}
	return encode(der, key)
}

func encode(der []byte, key *ecdsa.PrivateKey) (Pair, error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Pair{}, fmt.Errorf("encode key: %w", err)
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
