package extauthz_test

import (
	"context"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/extauthz"
)

// client starts the ext_authz gRPC server on 127.0.0.1 and returns a
// client speaking envoy.service.auth.v3.Authorization over a real
// connection, as Envoy does.
func client(t testing.TB, cfg waf.Config, events func(finding.Event)) authv3.AuthorizationClient {
	t.Helper()
	e, err := waf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	gs := extauthz.NewGRPCServer(extauthz.New(e, extauthz.Options{Catalogue: cat, Events: events}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// check builds a CheckRequest as Envoy's ext_authz filter sends it
// (headers lower-case, pseudo-headers included, body when with_request_body).
func check(method, path, body string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":authority": "shop.example", ":method": method, ":path": path, "user-agent": "curl/8", "accept": "*/*", "x-request-id": "req-123"}
	for k, v := range headers {
		h[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.1.2.3", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "1", Method: method, Path: path, Host: "shop.example", Protocol: "HTTP/1.1", Headers: h, Body: body}},
	}}
}

func TestCheck(t *testing.T) {
	var mu sync.Mutex
	var evs []finding.Event
	c := client(t, waf.Config{}, func(e finding.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := c.Check(ctx, check("GET", "/products?page=2", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK || resp.GetOkResponse() == nil {
		t.Errorf("benign request: %v", resp)
	}

	resp, err = c.Check(ctx, check("GET", "/products?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	den := resp.GetDeniedResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.PermissionDenied || den == nil || den.GetStatus().GetCode() != 403 {
		t.Fatalf("SQL injection: %v", resp)
	}
	var id string
	for _, h := range den.GetHeaders() {
		if h.GetHeader().GetKey() == extauthz.HeaderRequestID {
			id = h.GetHeader().GetValue()
		}
	}
	if id != "req-123" {
		t.Errorf("denial names request %q, want Envoy's x-request-id", id)
	}

	// A body Envoy buffered (with_request_body) is inspected too.
	resp, err = c.Check(ctx, check("POST", "/comment", "text=<script>alert(document.cookie)</script>",
		map[string]string{"content-type": "application/x-www-form-urlencoded"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeniedResponse() == nil {
		t.Errorf("XSS in the body: %v", resp)
	}
	var xss bool
	mu.Lock()
	defer mu.Unlock()
	for _, e := range evs {
		xss = xss || e.RuleID == "KOR-WAF-941" && e.Action == finding.ActionBlocked && e.Attributes["via"] == "ext_authz" && e.Actor.Address == "10.1.2.3"
	}
	if !xss {
		t.Errorf("no blocked KOR-WAF-941 event from ext_authz: %+v", evs)
	}

	// A request without HTTP attributes is refused, not a crash.
	resp, err = c.Check(ctx, &authv3.CheckRequest{})
	if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 400 {
		t.Errorf("empty CheckRequest: %v, %v", resp, err)
	}
}

// BenchmarkCheck is the ext_authz Check round trip over a real gRPC
// connection on 127.0.0.1, for a benign GET, one call at a time, with
// kordon waf serve's garbage collector setting; it reports the median
// and 99th percentile round trip.
func BenchmarkCheck(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(waf.DefaultGCPercent))
	c := client(b, waf.Config{}, nil)
	req := check("GET", "/products/42?page=2&sort=price", "", map[string]string{"accept-language": "en-GB,en;q=0.9", "cookie": "session=abc123"})
	ctx := context.Background()
	var rtts []time.Duration
	for b.Loop() {
		t0 := time.Now()
		resp, err := c.Check(ctx, req)
		rtts = append(rtts, time.Since(t0))
		if err != nil || resp.GetOkResponse() == nil {
			b.Fatalf("%v %v", resp, err)
		}
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(rtts[min(len(rtts)-1, len(rtts)*99/100)])/float64(time.Millisecond), "p99-ms")
}

// TestCheckInspectionBound checks a request the engine cannot inspect
// within its bound: denied with 503 and a KOR-WAF-003 event saying it was
// not fully inspected (fail-closed, the default).
func TestCheckInspectionBound(t *testing.T) {
	var mu sync.Mutex
	var evs []finding.Event
	c := client(t, waf.Config{Paranoia: 4, InspectTimeout: time.Millisecond, MaxOverdue: 100},
		func(e finding.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// An 8 KB argument: tens of ms of CRS at PL4, far over 1 ms.
	resp, err := c.Check(ctx, check("GET", "/search?q="+strings.Repeat("x", 8<<10), "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.PermissionDenied || resp.GetDeniedResponse().GetStatus().GetCode() != 503 {
		t.Errorf("not fully inspected: %v", resp)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 1 || evs[0].RuleID != waf.CheckEngineFailure || !strings.Contains(evs[0].Message, "not fully inspected") {
		t.Errorf("events %+v", evs)
	}
}
