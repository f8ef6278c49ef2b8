package alert

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Email sends alerts over SMTP: STARTTLS when the server offers it (and
// required unless InsecureNoTLS), AUTH PLAIN when a user is configured.
type Email struct {
	// Address is the SMTP server's host:port (587 for submission).
	Address  string
	From     string
	To       []string
	Username string
	Password string
	// InsecureNoTLS sends without STARTTLS when the server offers none
	// (a relay on localhost).
	InsecureNoTLS bool
	// TLS configures STARTTLS (the server name defaults to the host).
	TLS *tls.Config
}

var _ Notifier = (*Email)(nil)

// Name returns "email".
func (m *Email) Name() string { return "email" }

// oneLine keeps header values free of line breaks (header injection).
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// EmailMessage renders the RFC 5322 message of an alert.
func (m *Email) EmailMessage(a Alert, now time.Time) []byte {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	subject := fmt.Sprintf("[Kordon %s] %s", a.Severity, a.Rule)
	e := a.Event
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", oneLine(m.From))
	fmt.Fprintf(&b, "To: %s\r\n", oneLine(strings.Join(m.To, ", ")))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@kordon>\r\n", hex.EncodeToString(id))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body := fmt.Sprintf("%s\n\nRule:      %s\nSeverity:  %s\nCount:     %d in %s (threshold %d)\nFirst:     %s\nLast:      %s\nEngine:    %s %s\nCheck:     %s\nResource:  %s\nMessage:   %s\n",
		a.Summary(), a.Rule, a.Severity, a.Count, a.Window, a.Threshold, a.First.UTC().Format(time.RFC3339), a.Last.UTC().Format(time.RFC3339),
		e.Engine, e.Action, dashIfEmpty(e.RuleID), e.Resource.String(), e.Message)
	// SMTP lines end in CRLF; a line of a single dot is escaped by the
	// client's DATA writer.
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r", ""), "\n", "\r\n"))
	return []byte(b.String())
}

// Notify sends the alert to every recipient in one SMTP transaction.
func (m *Email) Notify(ctx context.Context, a Alert) error {
	if len(m.To) == 0 || m.From == "" {
		return fmt.Errorf("email: from and to are required")
	}
	host, _, err := net.SplitHostPort(m.Address)
	if err != nil {
		return fmt.Errorf("email: address %q: %w", m.Address, err)
	}
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", m.Address)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("email: STARTTLS: %w", err)
		}
	} else if !m.InsecureNoTLS {
		return fmt.Errorf("email: %s offers no STARTTLS (set insecureNoTLS for a local relay)", m.Address)
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("email: auth: %w", err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("email: RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(m.EmailMessage(a, time.Now())); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return c.Quit()
}
