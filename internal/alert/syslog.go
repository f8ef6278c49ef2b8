package alert

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/version"
)

// Syslog sends alerts as RFC 5424 messages over UDP (one message a
// datagram), TCP or TLS (octet-counted framing, RFC 6587 and RFC 5425),
// with the message in CEF or LEEF so that a SIEM parses its fields.
type Syslog struct {
	// Network is udp, tcp or tls; Address host:port.
	Network, Address string
	// Format is cef (default) or leef.
	Format string
	// Facility is the syslog facility number (default 16, local0).
	Facility int
	// TLS configures the tls network.
	TLS *tls.Config

	mu   sync.Mutex
	conn net.Conn
}

var _ Notifier = (*Syslog)(nil)

// Name returns "syslog".
func (s *Syslog) Name() string { return "syslog" }

// syslogSeverity maps a severity to RFC 5424's: critical 2, high 3,
// medium 4, low 5, info 6.
func syslogSeverity(s finding.Severity) int { return 6 - int(s) }

// Message renders the RFC 5424 message of an alert (without framing).
func (s *Syslog) Message(a Alert) string {
	fac := s.Facility
	if fac == 0 {
		fac = 16
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	var msg string
	if strings.EqualFold(s.Format, "leef") {
		msg = LEEF(a)
	} else {
		msg = CEF(a)
	}
	return fmt.Sprintf("<%d>1 %s %s kordon %d %s - %s", fac*8+syslogSeverity(a.Severity),
		a.Last.UTC().Format(time.RFC3339Nano), host, os.Getpid(), "alert", msg)
}

// Notify sends the alert, dialling (again) when needed.
func (s *Syslog) Notify(ctx context.Context, a Alert) error {
	msg := s.Message(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if s.conn == nil {
			c, err := s.dial(ctx)
			if err != nil {
				return err
			}
			s.conn = c
		}
		frame := msg
		if s.Network != "udp" {
			frame = strconv.Itoa(len(msg)) + " " + msg
		}
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.conn.Write([]byte(frame)); err != nil {
			s.conn.Close()
			s.conn = nil
			if attempt == 1 {
				return err
			}
			continue // a dropped connection: dial once more
		}
		return nil
	}
	return nil
}

func (s *Syslog) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	switch s.Network {
	case "udp", "tcp":
		return d.DialContext(ctx, s.Network, s.Address)
	case "tls":
		td := &tls.Dialer{NetDialer: d, Config: s.TLS}
		return td.DialContext(ctx, "tcp", s.Address)
	}
	return nil, fmt.Errorf("network %q: want udp, tcp or tls", s.Network)
}

// Close closes the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// cefSeverity maps a severity to CEF's 0-10 scale.
var cefSeverity = [...]int{1, 3, 5, 8, 10}

// cefHeader escapes a CEF header field: backslash and pipe.
func cefHeader(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// cefValue escapes a CEF extension value: backslash, equals sign and line
// breaks.
func cefValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, "=", `\=`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// CEF renders an alert in ArcSight's Common Event Format (version 0).
func CEF(a Alert) string {
	e := a.Event
	var b strings.Builder
	fmt.Fprintf(&b, "CEF:0|Kordon|Kordon|%s|%s|%s|%d|", cefHeader(version.Version), cefHeader(a.Rule),
		cefHeader(a.Summary()), cefSeverity[min(max(int(a.Severity), 0), 4)])
	ext := [][2]string{
		{"rt", strconv.FormatInt(a.Last.UnixMilli(), 10)},
		{"cnt", strconv.Itoa(a.Count)},
		{"msg", e.Message},
		{"cs1Label", "ruleID"}, {"cs1", e.RuleID},
		{"cs2Label", "namespace"}, {"cs2", e.Resource.Namespace},
		{"cs3Label", "resource"}, {"cs3", e.Resource.Kind + "/" + e.Resource.Name},
		{"cs4Label", "engine"}, {"cs4", e.Engine},
		{"act", e.Action},
	}
	if v := e.Attributes["src"]; v != "" {
		ext = append(ext, [2]string{"src", v})
	} else if e.Actor != nil && e.Actor.Address != "" {
		ext = append(ext, [2]string{"src", e.Actor.Address})
	}
	if v := e.Attributes["dst"]; v != "" {
		ext = append(ext, [2]string{"dst", v})
	}
	if v := e.Attributes["dstPort"]; v != "" {
		ext = append(ext, [2]string{"dpt", v})
	}
	if e.Actor != nil && e.Actor.User != "" {
		ext = append(ext, [2]string{"suser", e.Actor.User})
	}
	first := true
	for _, kv := range ext {
		if kv[1] == "" || kv[1] == "/" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(kv[0] + "=" + cefValue(kv[1]))
	}
	return b.String()
}

// leefValue keeps a LEEF value on one line and free of the tab delimiter.
func leefValue(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// LEEF renders an alert in IBM QRadar's Log Event Extended Format 1.0
// (tab-delimited attributes).
func LEEF(a Alert) string {
	e := a.Event
	hdr := func(s string) string { return strings.ReplaceAll(leefValue(s), "|", " ") }
	attrs := [][2]string{
		{"devTime", a.Last.UTC().Format("Jan 02 2006 15:04:05")},
		{"devTimeFormat", "MMM dd yyyy HH:mm:ss"},
		{"sev", strconv.Itoa(cefSeverity[min(max(int(a.Severity), 0), 4)])},
		{"cat", e.Engine},
		{"ruleID", e.RuleID},
		{"resource", e.Resource.String()},
		{"count", strconv.Itoa(a.Count)},
		{"msg", e.Message},
		{"src", e.Attributes["src"]},
		{"dst", e.Attributes["dst"]},
		{"dstPort", e.Attributes["dstPort"]},
	}
	var parts []string
	for _, kv := range attrs {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+leefValue(kv[1]))
		}
	}
	return fmt.Sprintf("LEEF:1.0|Kordon|Kordon|%s|%s|", hdr(version.Version), hdr(a.Rule)) + strings.Join(parts, "\t")
}
