package apischema_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apigen"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
)

func load(t testing.TB, file string, opts apischema.Options) (*apischema.Schema, []byte) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := apischema.Load(data, file, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, data
}

// TestGeneratedRequests checks the promise of the positive security model
// on requests generated from the specification by an independent
// generator: every valid request is admitted, every request that breaks
// one constraint is blocked, with a violation of the right kind.
func TestGeneratedRequests(t *testing.T) {
	for _, file := range []string{"testdata/clinic-3.0.yaml", "testdata/clinic-3.1.yaml"} {
		t.Run(file, func(t *testing.T) {
			schema, data := load(t, file, apischema.Options{})
			sp, err := apigen.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			g := apigen.NewGenerator(sp, 1)
			var valid, broken int
			for _, op := range sp.Operations() {
				for range 40 {
					r := g.ValidRequest(op)
					req, body := r.HTTP()
					if v := schema.Check(req, body); v.Block || len(v.Violations) > 0 {
						t.Errorf("%s %s?%s body %s: valid request judged %+v", r.Method, r.Path, r.Query.Encode(), r.Body, v)
					} else if want := op.Method + " " + op.Template; v.Route != want {
						t.Errorf("%s %s: route %q, want %q", r.Method, r.Path, v.Route, want)
					}
					valid++
				}
				for _, r := range g.BrokenRequests(op) {
					req, body := r.HTTP()
					v := schema.Check(req, body)
					if !v.Block {
						t.Errorf("%s %s?%s body %s (%s): admitted", r.Method, r.Path, r.Query.Encode(), r.Body, r.Broken)
						continue
					}
					if !hasKind(v, r.Kind) {
						t.Errorf("%s %s (%s): violations %+v, want one of kind %s", r.Method, r.Path, r.Broken, v.Violations, r.Kind)
					}
					broken++
				}
			}
			t.Logf("%d valid requests admitted, %d broken requests blocked", valid, broken)
			if broken < 50 {
				t.Errorf("only %d broken requests generated", broken)
			}
		})
	}
}

func hasKind(v apischema.Verdict, k apischema.Kind) bool {
	for _, x := range v.Violations {
		if x.Kind == k {
			return true
		}
	}
	return false
}

func TestRoutes(t *testing.T) {
	schema, _ := load(t, "testdata/clinic-3.1.yaml", apischema.Options{})
	logOnly, _ := load(t, "testdata/clinic-3.1.yaml", apischema.Options{UnknownRoute: apischema.UnknownRouteLog})
	for _, tc := range []struct {
		method, target string
		kind           apischema.Kind
		route          string
		blockWhenLog   bool
	}{
		{"GET", "/api/v1/admin", apischema.UnknownRouteKind, "", false},
		{"GET", "/pets?limit=3", apischema.UnknownRouteKind, "", false}, // outside the server URL
		{"GET", "/api/v1/pets/7/../../admin", apischema.UnknownRouteKind, "", false},
		{"PUT", "/api/v1/pets/7", apischema.MethodNotAllowedKind, "PUT /pets/{petId}", true},
		{"PATCH", "/api/v1/pets", apischema.MethodNotAllowedKind, "PATCH /pets", true},
	} {
		req, _ := http.NewRequest(tc.method, "http://api.example"+tc.target, nil)
		v := schema.Check(req, nil)
		if !v.Block || !hasKind(v, tc.kind) || v.Route != tc.route {
			t.Errorf("%s %s: %+v, want a blocking %s on route %q", tc.method, tc.target, v, tc.kind, tc.route)
		}
		if v := logOnly.Check(req, nil); v.Block != tc.blockWhenLog || !hasKind(v, tc.kind) {
			t.Errorf("%s %s with unknown routes logged: %+v, want block=%v", tc.method, tc.target, v, tc.blockWhenLog)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"swagger", "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "OpenAPI 3.0 or 3.1 required"},
		{"not yaml", "openapi: 3.1.0\ninfo: [\n", "spec.yaml:"},
		{"no paths", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "declares no paths"},
		{"bad schema", "openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n", "version"},
		{"remote ref", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: 'http://127.0.0.1:1/s.json'}\n      responses: {'200': {description: ok}}\n", "spec.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apischema.Load([]byte(tc.spec), "spec.yaml", apischema.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := apischema.Load([]byte("openapi: 3.1.0"), "x", apischema.Options{UnknownRoute: "drop"}); err == nil {
		t.Error("unknown-route action drop accepted")
	}
}
