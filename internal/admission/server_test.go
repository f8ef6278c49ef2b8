package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kordon-dev/kordon/internal/admission/certs"
)

// testServer runs Serve on 127.0.0.1 with a generated CA.
type testServer struct {
	url    string
	opsURL string // plain HTTP: /healthz, /readyz, /metrics
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	ca     *certs.Bundle
	dir    string
}

func startServer(t *testing.T, handler http.Handler, reg *prometheus.Registry, ready func() bool) *testServer {
	t.Helper()
	return startServerWith(t, ServerOptions{Webhook: handler, Gatherer: reg, Ready: ready})
}

// startServerWith starts Serve with opts, filling in the listeners and the
// serving certificate.
func startServerWith(t *testing.T, opts ServerOptions) *testServer {
	t.Helper()
	b, err := certs.Generate("kordon-test", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, b.Serving.CertPEM)
	writeFile(t, keyFile, b.Serving.KeyPEM)
	rl, err := certs.NewReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go rl.Run(ctx, 20*time.Millisecond, nil, nil)
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{url: "https://" + ln.Addr().String(), opsURL: "http://" + opsLn.Addr().String(), cancel: cancel, done: make(chan error, 1), ca: b, dir: dir}
	opts.GetCertificate, opts.OpsListener = rl.GetCertificate, opsLn
	go func() {
		ts.done <- Serve(ctx, ln, opts)
	}()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CA.CertPEM)
	ts.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		cancel()
		<-ts.done
	})
	return ts
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// get GETs path from the operations port.
func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.opsURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerHealthReadinessAndMetrics(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	f.metricsR = NewMetrics(reg)
	var logs bytes.Buffer
	cfg := pssConfig + governanceConfig
	w := f.webhook(cfg)
	w.log = slog.New(slog.NewJSONHandler(&logs, nil))
	var synced atomic.Bool
	ts := startServer(t, w, reg, synced.Load)

	if code, _ := ts.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: got %d, want 200", code)
	}
	if code, _ := ts.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before sync: got %d, want 503", code)
	}
	synced.Store(true)
	if code, _ := ts.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after sync: got %d, want 200", code)
	}

	post := func(ar *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		t.Helper()
		body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: ar})
		resp, err := ts.client.Post(ts.url+ValidatePath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Response
	}
	if r := post(request(t, admissionv1.Create, "alice", []string{"dev"}, pod(privilegedPod, "shop", ""), "")); r.Allowed {
		t.Errorf("privileged pod admitted")
	}
	if r := post(request(t, admissionv1.Create, "carol", nil, pod(restrictedPod, "lab", "quay.io/web:1"), "")); !r.Allowed {
		t.Errorf("audited pod denied: %v", r.Result)
	}

	// Metrics, scraped over plain HTTP on the operations port only.
	if resp, err := ts.client.Get(ts.url + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the webhook port: %v %v, want 404", err, resp)
	} else {
		resp.Body.Close()
	}
	code, text := ts.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: got %d", code)
	}
	for _, want := range []string{
		`kordon_admission_requests_total{kind="Pod",operation="CREATE"} 2`,
		`kordon_admission_responses_total{result="denied"} 1`,
		`kordon_admission_responses_total{result="allowed"} 1`,
		`kordon_admission_decisions_total{action="enforce",rule="KOR-POD-001"} 1`,
		`kordon_admission_decisions_total{action="audit",rule="KOR-GOV-004"} 1`,
		`kordon_admission_request_duration_seconds_count 2`,
		`kordon_admission_creation_rate_limit{limit="default"} 2`,
		`kordon_admission_creation_rate_users{limit="default"} 1`,
		`kordon_admission_creation_rate_users_over_limit{limit="default"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// One JSON log line per decision, with who, what, rules and latency.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines: got %d, want 2:\n%s", len(lines), logs.String())
	}
	var first struct {
		Msg       string   `json:"msg"`
		User      string   `json:"user"`
		Groups    []string `json:"groups"`
		Operation string   `json:"operation"`
		Kind      string   `json:"kind"`
		Namespace string   `json:"namespace"`
		Name      string   `json:"name"`
		Result    string   `json:"result"`
		LatencyMs *float64 `json:"latencyMs"`
		Rules     []struct {
			ID, Action, Source, Message string
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.User != "alice" || len(first.Groups) != 1 || first.Operation != "CREATE" || first.Kind != "Pod" ||
		first.Namespace != "shop" || first.Name != "root" || first.Result != "denied" || first.LatencyMs == nil || len(first.Rules) == 0 {
		t.Errorf("log line: got %s", lines[0])
	}
	if first.Rules[0].ID != "KOR-POD-001" || first.Rules[0].Action != "enforce" || first.Rules[0].Source != "pss" {
		t.Errorf("first rule in log: got %+v, want KOR-POD-001 enforce from pss", first.Rules[0])
	}
}

// blockingHandler holds requests until released, to test draining.
type blockingHandler struct {
	started chan struct{}
	release chan struct{}
}

func (h *blockingHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.started <- struct{}{}
	<-h.release
	io.WriteString(w, "done")
}

func TestServerDrainsOnShutdown(t *testing.T) {
	h := &blockingHandler{started: make(chan struct{}, 1), release: make(chan struct{})}
	ts := startServer(t, h, nil, nil)
	got := make(chan string, 1)
	go func() {
		resp, err := ts.client.Post(ts.url+ValidatePath, "application/json", strings.NewReader("{}"))
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-h.started
	ts.cancel()
	// While draining, readiness is off but the request in flight lives on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(ts.opsURL + "/readyz")
		if err != nil || resp.StatusCode == http.StatusServiceUnavailable {
			if resp != nil {
				resp.Body.Close()
			}
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("/readyz stayed ready after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(h.release)
	if body := <-got; body != "done" {
		t.Errorf("request in flight: got %q, want it to finish with \"done\"", body)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- nil // for the cleanup
}

func TestServerServesRotatedCertificate(t *testing.T) {
	ts := startServer(t, http.NotFoundHandler(), nil, nil)
	serial := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.url, "https://"), ts.client.Transport.(*http.Transport).TLSClientConfig)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	next, err := ts.ca.Sign("kordon-test", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ts.dir, "tls.key"), next.KeyPEM)
	writeFile(t, filepath.Join(ts.dir, "tls.crt"), next.CertPEM)
	deadline := time.Now().Add(10 * time.Second)
	for serial() == before {
		if time.Now().After(deadline) {
			t.Fatal("the server kept the old certificate")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServerAuthenticatesClients attacks the webhook port directly: with a
// client CA and allowed CNs configured, a client without a certificate, or
// with one of another CA or another CN, is refused during the handshake
// and never reaches the handler; the allowed client is served. TLS 1.2 is
// refused unless allowed.
func TestServerAuthenticatesClients(t *testing.T) {
	clientCA, err := certs.Generate("kordon-client-ca", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := certs.Generate("other-ca", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCA.CA.CertPEM)
	var served atomic.Int32
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served.Add(1); io.WriteString(w, "ok") })
	ts := startServerWith(t, ServerOptions{Webhook: handler, ClientCAs: pool, ClientCNs: []string{"kube-apiserver"}})

	pair := func(b *certs.Bundle, cn string) []tls.Certificate {
		t.Helper()
		p, err := b.SignClient(cn, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	base := ts.client.Transport.(*http.Transport).TLSClientConfig
	tests := []struct {
		name  string
		certs []tls.Certificate
		max   uint16
		ok    bool
	}{
		{"no client certificate", nil, 0, false},
		{"certificate of another CA", pair(otherCA, "kube-apiserver"), 0, false},
		{"another common name", pair(clientCA, "mallory"), 0, false},
		{"the API server", pair(clientCA, "kube-apiserver"), 0, true},
		{"the API server over TLS 1.2", pair(clientCA, "kube-apiserver"), tls.VersionTLS12, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base.Clone()
			cfg.Certificates, cfg.MaxVersion = tt.certs, tt.max
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			before := served.Load()
			resp, err := c.Post(ts.url+ValidatePath, "application/json", strings.NewReader("{}"))
			if tt.ok {
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("got %v %v, want served", err, resp)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("HTTP %d, want the handshake refused", resp.StatusCode)
			}
			if served.Load() != before {
				t.Errorf("the handler saw a refused client")
			}
		})
	}

	// MinTLSVersion 1.2 lets old clients in.
	ts12 := startServerWith(t, ServerOptions{Webhook: handler, MinTLSVersion: tls.VersionTLS12})
	cfg := ts12.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.MaxVersion = tls.VersionTLS12
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}).Post(ts12.url+ValidatePath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("TLS 1.2 with MinTLSVersion 1.2: %v", err)
	}
	resp.Body.Close()
}

// TestServerReloadsClientCA rotates the client CA file under a running
// server: a client of the new CA is refused until the file changes, then
// served, and a client of the old CA is refused from then on — without a
// restart. A broken file (half written) keeps the CA in service.
func TestServerReloadsClientCA(t *testing.T) {
	oldCA, err := certs.Generate("old-client-ca", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := certs.Generate("new-client-ca", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	writeFile(t, caFile, oldCA.CA.CertPEM)
	cas, err := certs.NewCAReloader(caFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 100)
	go cas.Run(ctx, 10*time.Millisecond, nil, func(err error) {
		select {
		case errs <- err:
		default:
		}
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	ts := startServerWith(t, ServerOptions{Webhook: handler, GetClientCAs: cas.Pool, ClientCNs: []string{"kube-apiserver"}})
	base := ts.client.Transport.(*http.Transport).TLSClientConfig
	// served reports whether a client with a certificate of ca is served,
	// on a new connection.
	served := func(ca *certs.Bundle) bool {
		t.Helper()
		p, err := ca.SignClient("kube-apiserver", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg := base.Clone()
		cfg.Certificates = []tls.Certificate{c}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 10 * time.Second}
		resp, err := client.Post(ts.url+ValidatePath, "application/json", strings.NewReader("{}"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if !served(oldCA) || served(newCA) {
		t.Fatalf("before rotation: want the old CA's client served and the new CA's refused")
	}

	writeFile(t, caFile, []byte("-----BEGIN CERTIFICATE-----\ntruncated"))
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), caFile) {
			t.Errorf("reload error %q does not name the file", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a broken CA file was not reported")
	}
	if !served(oldCA) {
		t.Errorf("after a broken CA file: the old CA's client is refused, want the old CA kept in service")
	}

	writeFile(t, caFile, newCA.CA.CertPEM)
	deadline := time.Now().Add(10 * time.Second)
	for !served(newCA) {
		if time.Now().After(deadline) {
			t.Fatal("the rotated client CA was not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if served(oldCA) {
		t.Errorf("after rotation: the old CA's client is still served")
	}
}

// TestMetricsUnderForgedReviews is a direct attack on the webhook port:
// reviews forged for 300 distinct users and 50 made-up kinds must not add
// a metric series per user or kind, nor expose a user name on /metrics,
// and the creation-rate gauges judge each user against the limit that
// applies to them (a CI service account with a per-subject limit of 5 is
// not over the default limit of 2 after 3 creations).
func TestMetricsUnderForgedReviews(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	f.metricsR = NewMetrics(reg)
	w := f.webhook(`
governance:
  creationRate:
    action: enforce
    limit: 2
    window: 1h
    kinds: [ConfigMap]
    limits:
      - serviceAccounts: [ci/*]
        limit: 5
`)
	ts := startServer(t, w, reg, nil)
	post := func(user, kind, name string) {
		t.Helper()
		body := reviewJSON(`"uid":"` + name + `","kind":{"group":"","version":"v1","kind":"` + kind + `"},"namespace":"shop","name":"` + name + `","operation":"CREATE",` +
			`"userInfo":{"username":"` + user + `"},"object":{"apiVersion":"v1","kind":"` + kind + `","metadata":{"name":"` + name + `","namespace":"shop"}}`)
		resp, err := ts.client.Post(ts.url+ValidatePath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for i := 0; i < 300; i++ {
		post(fmt.Sprintf("forged-user-%d", i), "ConfigMap", fmt.Sprintf("c%d", i))
	}
	for i := 0; i < 50; i++ {
		post("forged-kinds", fmt.Sprintf("Kind%d", i), fmt.Sprintf("k%d", i))
	}
	for i := 0; i < 3; i++ {
		post("system:serviceaccount:ci:runner", "ConfigMap", fmt.Sprintf("ci%d", i))
	}
	post("alice", "ConfigMap", "a1")
	post("alice", "ConfigMap", "a2")
	_, text := ts.get(t, "/metrics")
	series := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "kordon_admission_") {
			series++
		}
		if strings.Contains(line, "forged") || strings.Contains(line, "alice") || strings.Contains(line, "runner") || strings.Contains(line, "Kind1") {
			t.Errorf("/metrics names a user or a forged kind: %s", line)
		}
	}
	// requests (2 kinds x CREATE) + responses + the histogram's buckets +
	// 3 gauges x 2 limits: a few dozen, whatever the number of users.
	if series > 60 {
		t.Errorf("/metrics has %d kordon series after reviews from 300 users and 50 kinds, want a bounded number", series)
	}
	for _, want := range []string{
		`kordon_admission_requests_total{kind="other",operation="CREATE"} 50`,
		`kordon_admission_creation_rate_limit{limit="default"} 2`,
		`kordon_admission_creation_rate_limit{limit="limits[0]"} 5`,
		`kordon_admission_creation_rate_users{limit="default"} 301`,
		`kordon_admission_creation_rate_users_over_limit{limit="default"} 1`,
		`kordon_admission_creation_rate_users{limit="limits[0]"} 1`,
		`kordon_admission_creation_rate_users_over_limit{limit="limits[0]"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
