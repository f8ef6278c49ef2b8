package main

import (
	"strings"
	"testing"
)

// TestWAFServeUsage checks that kordon waf serve refuses bad flags with
// exit 2 and a message naming the flag, before it listens anywhere.
func TestWAFServeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"waf", "serve"}, "nothing to serve"},
		{[]string{"waf", "serve", "--listen", "127.0.0.1:0"}, "--listen and --upstream go together"},
		{[]string{"waf", "serve", "--listen", "127.0.0.1:0", "--upstream", "ftp://x"}, "--upstream"},
		{[]string{"waf", "serve", "--ext-authz", "127.0.0.1:0", "--paranoia", "5"}, "paranoia 5"},
		{[]string{"waf", "serve", "--ext-authz", "127.0.0.1:0", "--mode", "log"}, `mode "log"`},
		{[]string{"waf", "serve", "--ext-authz", "127.0.0.1:0", "--config", "/nonexistent/waf.yaml"}, "waf.yaml"},
		{[]string{"waf", "serve", "--ext-authz", "127.0.0.1:0", "--gc-percent", "-1"}, "--gc-percent -1"},
	} {
		_, stderr, code := run(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
	out, _, code := run(t, "", "waf", "serve", "--help")
	if code != 0 || !strings.Contains(out, "--test-mode") || !strings.Contains(out, "X-Kordon-Waf-Rules") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

func TestWAFInstall(t *testing.T) {
	out, stderr, code := run(t, "", "waf", "install", "--upstream", "http://web.shop.svc:3000", "--image", "kordon:test")
	if code != 0 || !strings.Contains(out, "kind: Deployment") || !strings.Contains(out, "kind: Service") ||
		!strings.Contains(out, "--ext-authz") || !strings.Contains(out, "http://web.shop.svc:3000") {
		t.Errorf("exit %d, stderr %q\n%s", code, stderr, out)
	}
	if _, stderr, code := run(t, "", "waf", "install", "--paranoia", "9"); code != 2 || !strings.Contains(stderr, "paranoia 9") {
		t.Errorf("--paranoia 9: exit %d, %q", code, stderr)
	}
}
