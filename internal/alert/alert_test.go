package alert

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/query"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func denied(at time.Duration, user, ns string) store.Record {
	return store.Record{Event: finding.Event{Time: t0.Add(at), Engine: "admission", Action: "denied", Actor: &finding.Actor{User: user},
		Finding: finding.Finding{RuleID: "KOR-POD-001", Severity: finding.Critical, Resource: finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: "p"},
			Message: "privileged"}, Attributes: map[string]string{"user": user}}}
}

func TestThresholdWindowDedupThrottle(t *testing.T) {
	env, err := query.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	var spec RuleSpec
	if err := json.Unmarshal([]byte(`{"name": "repeated-denials", "filter": "engine == \"admission\" && action == \"denied\"",
		"threshold": 3, "window": "1m", "key": ["resource.namespace"], "throttle": "10m"}`), &spec); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(env, []RuleSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var fired []string
	obs := func(recs ...store.Record) {
		for _, a := range e.Observe(ctx, recs) {
			fired = append(fired, fmt.Sprintf("%s %s %d %s", a.Last.Sub(t0), a.Key["resource.namespace"], a.Count, a.First.Sub(t0)))
		}
	}
	// Two in shop, then one in pay: no key reaches three.
	obs(denied(0, "a", "shop"), denied(10*time.Second, "a", "shop"), denied(20*time.Second, "a", "pay"))
	// Too late for the window of the first: still two in shop's last minute.
	obs(denied(65*time.Second, "a", "shop"))
	// The third within a minute: fires.
	obs(denied(66*time.Second, "a", "shop"))
	// Throttled: three more within ten minutes fire nothing.
	obs(denied(70*time.Second, "a", "shop"), denied(71*time.Second, "a", "shop"), denied(72*time.Second, "a", "shop"))
	// Pay reaches three on its own key.
	obs(denied(30*time.Second, "b", "pay"), denied(40*time.Second, "b", "pay"))
	// After the throttle, shop fires again.
	obs(denied(12*time.Minute, "a", "shop"), denied(12*time.Minute+time.Second, "a", "shop"), denied(12*time.Minute+2*time.Second, "a", "shop"))
	// Other records never count.
	other := denied(12*time.Minute+3*time.Second, "a", "shop")
	other.Event.Action = "warned"
	obs(other)
	want := []string{"1m6s shop 3 10s", "40s pay 3 20s", "12m2s shop 3 12m0s"}
	if strings.Join(fired, "\n") != strings.Join(want, "\n") {
		t.Errorf("fired\n%s\nwant\n%s", strings.Join(fired, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct{ spec, want string }{
		{`{"filter": "true"}`, "name missing"},
		{`{"name": "x", "filter": "nmespace == 1"}`, "undeclared reference"},
		{`{"name": "x", "filter": "true", "key": ["colour"]}`, "group by"},
		{`{"name": "x", "filter": "true", "threshold": -1}`, "threshold"},
	} {
		var s RuleSpec
		if err := json.Unmarshal([]byte(c.spec), &s); err != nil {
			t.Fatal(err)
		}
		if _, err := NewEngine(env, []RuleSpec{s}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewEngine(%s) = %v, want %q", c.spec, err, c.want)
		}
	}
}

func sample() Alert {
	ev := denied(0, "mallory", "shop").Event
	ev.Message = `pipe | equals = backslash \ and a
new line`
	ev.Attributes["src"] = "203.0.113.9"
	return Alert{Rule: "c2|traffic", Key: map[string]string{"resource.namespace": "shop"}, Count: 3, Threshold: 3, Window: "1m0s",
		Severity: finding.Critical, First: t0, Last: t0.Add(time.Minute), Event: ev}
}

func TestWebhook(t *testing.T) {
	got := make(chan Alert, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		var a Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		got <- a
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer x"}, Client: srv.Client()}
	if err := w.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if a := <-got; a.Rule != "c2|traffic" || a.Count != 3 || a.Event.Actor.User != "mallory" || a.Severity != finding.Critical {
		t.Errorf("received %+v", a)
	}
	bad := &Webhook{URL: srv.URL, Client: srv.Client()}
	if err := bad.Notify(t.Context(), sample()); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("refused webhook: %v", err)
	}
}

// parseCEF is an independent reading of a CEF record from the format's
// specification (ArcSight "Implementing ArcSight CEF", revision 25): seven
// pipe-separated header fields in which \| and \\ are escapes, then an
// extension of key=value pairs separated by spaces, in whose values \=,
// \\, \n and \r are escapes and a value runs up to the space before the
// next unescaped key=.
func parseCEF(t *testing.T, s string) ([]string, map[string]string) {
	t.Helper()
	var hdr []string
	var cur strings.Builder
	i := 0
	for ; i < len(s) && len(hdr) < 7; i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\'):
			cur.WriteByte(s[i+1])
			i++
		case c == '|':
			hdr = append(hdr, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(hdr) != 7 {
		t.Fatalf("CEF header has %d fields: %q", len(hdr), s)
	}
	ext := s[i:]
	keyAt := regexp.MustCompile(`(?:^| )([A-Za-z0-9_]+)=`)
	// Find the key positions, skipping "=" that are escaped.
	type pos struct{ start, valStart int }
	var keys []pos
	var names []string
	for _, m := range keyAt.FindAllStringSubmatchIndex(ext, -1) {
		eq := m[1] - 1
		bs := 0
		for j := eq - 1; j >= 0 && ext[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 1 {
			continue
		}
		keys = append(keys, pos{m[0], m[1]})
		names = append(names, ext[m[2]:m[3]])
	}
	out := map[string]string{}
	for k, p := range keys {
		end := len(ext)
		if k+1 < len(keys) {
			end = keys[k+1].start
		}
		raw := ext[p.valStart:end]
		var v strings.Builder
		for j := 0; j < len(raw); j++ {
			if raw[j] == '\\' && j+1 < len(raw) {
				switch raw[j+1] {
				case '\\', '=':
					v.WriteByte(raw[j+1])
				case 'n':
					v.WriteByte('\n')
				case 'r':
					v.WriteByte('\r')
				default:
					t.Fatalf("bad escape \\%c in %q", raw[j+1], raw)
				}
				j++
				continue
			}
			if raw[j] == '=' {
				t.Fatalf("unescaped = in value %q", raw)
			}
			v.WriteByte(raw[j])
		}
		out[names[k]] = v.String()
	}
	return hdr, out
}

func TestCEFRoundTrip(t *testing.T) {
	a := sample()
	hdr, ext := parseCEF(t, CEF(a))
	if hdr[0] != "CEF:0" || hdr[1] != "Kordon" || hdr[4] != "c2|traffic" || hdr[6] != "10" || !strings.HasPrefix(hdr[5], "c2|traffic: 3 matching records in 1m0s") {
		t.Errorf("header %q", hdr)
	}
	if ext["msg"] != a.Event.Message {
		t.Errorf("msg = %q, want %q", ext["msg"], a.Event.Message)
	}
	for k, want := range map[string]string{"src": "203.0.113.9", "suser": "mallory", "cs1": "KOR-POD-001", "cs1Label": "ruleID",
		"cs2": "shop", "cnt": "3", "act": "denied", "rt": strconv.FormatInt(t0.Add(time.Minute).UnixMilli(), 10)} {
		if ext[k] != want {
			t.Errorf("%s = %q, want %q (all: %v)", k, ext[k], want, ext)
		}
	}
}

func TestLEEF(t *testing.T) {
	l := LEEF(sample())
	// Five header fields end in pipes; attribute values may hold pipes.
	parts := strings.SplitN(l, "|", 6)
	if len(parts) != 6 || parts[0] != "LEEF:1.0" || parts[4] != "c2 traffic" || strings.ContainsAny(parts[5], "\n\r") {
		t.Fatalf("LEEF %q", l)
	}
	attrs := parts[5]
	kv := map[string]string{}
	for p := range strings.SplitSeq(attrs, "\t") {
		k, v, _ := strings.Cut(p, "=")
		kv[k] = v
	}
	if kv["sev"] != "10" || kv["src"] != "203.0.113.9" || kv["count"] != "3" || kv["cat"] != "admission" {
		t.Errorf("LEEF attributes %v", kv)
	}
}

var rfc5424 = regexp.MustCompile(`^<(\d+)>1 (\S+) (\S+) kordon (\d+) alert - (CEF:0\|.*|LEEF:1\.0\|.*)$`)

func checkSyslog(t *testing.T, msg string, wantPri int) {
	t.Helper()
	m := rfc5424.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("not an RFC 5424 message of ours: %q", msg)
	}
	if pri, _ := strconv.Atoi(m[1]); pri != wantPri {
		t.Errorf("PRI %d, want %d", pri, wantPri)
	}
	if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if strings.HasPrefix(m[5], "CEF") {
		_, ext := parseCEF(t, m[5])
		if ext["suser"] != "mallory" {
			t.Errorf("CEF over syslog: %v", ext)
		}
	}
}

// readFramed reads one octet-counted message (RFC 6587 3.4.1).
func readFramed(r *bufio.Reader) (string, error) {
	n, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	size, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return "", err
	}
	buf := make([]byte, size)
	_, err = io.ReadFull(r, buf)
	return string(buf), err
}

func TestSyslogUDPTCPTLS(t *testing.T) {
	// UDP.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := &Syslog{Network: "udp", Address: pc.LocalAddr().String()}
	defer s.Close()
	if err := s.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	checkSyslog(t, string(buf[:n]), 16*8+2)

	// TCP and TLS: octet-counted frames; two alerts on one connection.
	b, err := certs.Generate("syslog", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(b.Serving.CertPEM, b.Serving.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var clientTLS *tls.Config
			if network == "tls" {
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(b.CA.CertPEM)
				clientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
			}
			msgs := make(chan string, 2)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				r := bufio.NewReader(c)
				for range 2 {
					m, err := readFramed(r)
					if err != nil {
						return
					}
					msgs <- m
				}
			}()
			s := &Syslog{Network: network, Address: ln.Addr().String(), TLS: clientTLS, Format: "cef", Facility: 4}
			defer s.Close()
			a := sample()
			a.Severity = finding.Medium
			for range 2 {
				if err := s.Notify(t.Context(), a); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				select {
				case m := <-msgs:
					checkSyslog(t, m, 4*8+4)
				case <-time.After(10 * time.Second):
					t.Fatal("no message")
				}
			}
		})
	}
	ls := &Syslog{Network: "udp", Address: pc.LocalAddr().String(), Format: "leef"}
	defer ls.Close()
	if err := ls.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	n, _, err = pc.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "LEEF:1.0|Kordon|Kordon|") {
		t.Errorf("LEEF over syslog: %q %v", buf[:n], err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	env, _ := query.NewEnv()
	dir := t.TempDir()
	for _, c := range []struct{ yaml, want string }{
		{"rules: [{name: a, filter: 'true'}]\n", "rules without notifiers"},
		{"notifiers: [{}]\n", "set exactly one of webhook, slack, teams, email, kafka, policyReport, syslog"},
		{"notifiers: [{syslog: {network: sctp, address: 'x:1'}}]\n", `network "sctp"`},
		{"notifiers: [{syslog: {network: udp, address: 'x:1', format: json}}]\n", `format "json"`},
		{"notifiers: [{webhook: {}}]\n", "webhook.url: missing"},
		{"notifiers: [{kafka: {topic: t}}]\n", "brokers and topic are required"},
		{"notifiers: [{policyReport: {kubeconfig: /nonexistent}}]\n", "policyReport"},
		{"notifiers: [{email: {address: 'mail:587', from: a@b}}]\n", "address, from and to are required"},
		{"notifiers: [{email: {address: mail, from: a@b, to: [c@d]}}]\n", "email.address"},
		{"notifiers: [{email: {address: 'mail:587', from: a@b, to: [c@d], passwordFile: /nonexistent}}]\n", "passwordFile"},
		{"rules: [{name: a, filter: 'true', window: soon}]\n", `invalid duration "soon"`},
		{"rulez: []\n", "unknown field"},
	} {
		p := dir + "/a.yaml"
		if err := os.WriteFile(p, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadConfig(p, env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadConfig(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestSlackAndTeams(t *testing.T) {
	type got struct {
		path string
		body map[string]any
	}
	recv := make(chan got, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad", 400)
			return
		}
		recv <- got{r.URL.Path, b}
	}))
	defer srv.Close()
	a := sample()
	if err := (&Slack{URL: srv.URL + "/slack", Client: srv.Client()}).Notify(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := (&Teams{URL: srv.URL + "/teams", Client: srv.Client()}).Notify(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	s := <-recv
	if s.path != "/slack" || !strings.Contains(s.body["text"].(string), "*c2|traffic* [critical]") || len(s.body["blocks"].([]any)) != 2 {
		t.Errorf("slack payload %v", s.body)
	}
	tm := <-recv
	att := tm.body["attachments"].([]any)[0].(map[string]any)
	card := att["content"].(map[string]any)
	if tm.path != "/teams" || tm.body["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" ||
		card["type"] != "AdaptiveCard" || !strings.Contains(fmt.Sprint(card["body"]), "Kordon alert: c2|traffic") {
		t.Errorf("teams payload %v", tm.body)
	}
	if err := (&Slack{URL: srv.URL + "/x", Client: srv.Client()}).Notify(t.Context(), Alert{Event: finding.Event{}}); err != nil {
		t.Errorf("empty alert: %v", err)
	}
}

func TestKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "kordon-alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, err := NewKafka(c.ListenAddrs(), "kordon-alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Client.Close()
	if err := k.Notify(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("kordon-alerts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	fs := cons.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 || string(recs[0].Key) != "c2|traffic" {
		t.Fatalf("records %v", recs)
	}
	var a Alert
	if err := json.Unmarshal(recs[0].Value, &a); err != nil || a.Count != 3 || a.Event.Actor.User != "mallory" {
		t.Errorf("alert %+v, %v", a, err)
	}
}
