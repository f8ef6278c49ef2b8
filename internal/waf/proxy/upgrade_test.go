package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/proxy"
)

// TestUpgradePassThrough checks that a connection upgrade (WebSocket's
// handshake) passes the WAF and then carries bytes both ways.
func TestUpgradePassThrough(t *testing.T) {
	up := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		line, _ := brw.ReadString('\n')
		_, _ = io.WriteString(conn, "echo: "+line)
	}), proxy.DefaultLimits)
	p := startProxyTo(t, up)
	c, err := net.Dial("tcp", p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept: */*\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	_, _ = io.WriteString(c, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "echo: hello") {
		t.Errorf("after the upgrade: %q, %v", line, err)
	}
}

// TestHTTP2Cleartext checks that the proxy speaks HTTP/2 without TLS (h2c)
// and still blocks over it.
func TestHTTP2Cleartext(t *testing.T) {
	h := start(t, waf.Config{}, proxy.DefaultLimits)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for target, want := range map[string]int{"/ok": 200, "/?q=%3Cscript%3Ealert(1)%3C/script%3E": 403} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+target, nil)
		req.Host = "localhost"
		req.Header.Set("User-Agent", "t")
		req.Header.Set("Accept", "*/*")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != want {
			t.Errorf("%s: %s %d, want HTTP/2 %d", target, resp.Proto, resp.StatusCode, want)
		}
	}
}
