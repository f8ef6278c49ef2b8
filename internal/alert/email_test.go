package alert

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/certs"
)

// smtpServer is a minimal SMTP server (RFC 5321) for the test: EHLO,
// STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT. Each delivered message is
// sent on msgs with its envelope.
type delivery struct {
	from string
	to   []string
	data string
	auth string
	tls  bool
}

func smtpServer(t *testing.T, cert *tls.Certificate) (string, <-chan delivery) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs := make(chan delivery, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, cert, msgs)
		}
	}()
	return ln.Addr().String(), msgs
}

func serveSMTP(c net.Conn, cert *tls.Certificate, msgs chan<- delivery) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	w := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	w("220 test ESMTP")
	var d delivery
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			if cert != nil && !d.tls {
				w("250-test")
				w("250 STARTTLS")
			} else {
				w("250-test")
				w("250 AUTH PLAIN")
			}
		case "STARTTLS":
			w("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			r = bufio.NewReader(c)
			d.tls = true
		case "AUTH":
			parts := strings.Fields(line)
			if len(parts) != 3 || parts[1] != "PLAIN" {
				w("504 unsupported")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(parts[2])
			d.auth = string(raw)
			if d.auth != "\x00kordon\x00s3cret" {
				w("535 bad credentials")
				continue
			}
			w("235 ok")
		case "MAIL":
			d.from = strings.TrimSuffix(strings.TrimPrefix(line, "MAIL FROM:<"), ">")
			w("250 ok")
		case "RCPT":
			d.to = append(d.to, strings.TrimSuffix(strings.TrimPrefix(line, "RCPT TO:<"), ">"))
			w("250 ok")
		case "DATA":
			w("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			d.data = b.String()
			msgs <- d
			w("250 queued")
		case "QUIT":
			w("221 bye")
			return
		default:
			w("502 unknown")
		}
	}
}

func TestEmail(t *testing.T) {
	b, err := certs.Generate("smtp", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(b.Serving.CertPEM, b.Serving.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CA.CertPEM)
	addr, msgs := smtpServer(t, &cert)
	m := &Email{Address: addr, From: "kordon@example.com", To: []string{"sec@example.com", "oncall@example.com"},
		Username: "kordon", Password: "s3cret", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	a := sample()
	a.Event.Message = "first line\n.\nafter a lone dot"
	a.Rule = "c2\r\nBcc: victim@example.com"
	if err := m.Notify(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	d := <-msgs
	if !d.tls || d.from != "kordon@example.com" || strings.Join(d.to, ",") != "sec@example.com,oncall@example.com" {
		t.Errorf("envelope %+v", d)
	}
	msg, err := mail.ReadMessage(strings.NewReader(d.data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != "[Kordon critical] c2  Bcc: victim@example.com" || msg.Header.Get("Bcc") != "" {
		t.Errorf("subject %q, Bcc %q: a header must not be injected", subj, msg.Header.Get("Bcc"))
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "Message:   first line\r\n.\r\nafter a lone dot") || !strings.Contains(string(body), "Resource:  Pod shop/p") {
		t.Errorf("body %q", body)
	}

	// A server without STARTTLS is refused unless allowed.
	plainAddr, plainMsgs := smtpServer(t, nil)
	m2 := &Email{Address: plainAddr, From: "k@example.com", To: []string{"s@example.com"}}
	if err := m2.Notify(t.Context(), a); err == nil || !strings.Contains(err.Error(), "no STARTTLS") {
		t.Errorf("plain server: %v", err)
	}
	m2.InsecureNoTLS = true
	if err := m2.Notify(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if d := <-plainMsgs; d.tls || d.to[0] != "s@example.com" {
		t.Errorf("plain delivery %+v", d)
	}
	m3 := &Email{Address: plainAddr, From: "k@example.com", To: []string{"s@example.com"}, InsecureNoTLS: true, Username: "kordon", Password: "wrong"}
	if err := m3.Notify(t.Context(), a); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("wrong password: %v", err)
	}
}
