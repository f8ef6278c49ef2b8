package apischema_test

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apischema"
)

// FuzzCheck sends arbitrary requests: Check must judge each without
// panicking, and a request it admits must name the route it matched.
func FuzzCheck(f *testing.F) {
	data, err := os.ReadFile("testdata/clinic-3.1.yaml")
	if err != nil {
		f.Fatal(err)
	}
	schema, err := apischema.Load(data, "clinic", apischema.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/api/v1/pets", "", "application/json", []byte(`{"name":"Rex","species":"dog"}`))
	f.Add("GET", "/api/v1/pets", "limit=5&species=cat", "", []byte(nil))
	f.Add("POST", "/api/v1/owners/0b7d6c5e-1f7a-4d2c-9a55-0c1d2e3f4a5b/visits", "", "application/json; charset=utf-8", []byte(`{"at":"2024-01-02T03:04:05Z","pets":[{"petId":1}]}`))
	f.Add("DELETE", "/api/v1/pets/%2e%2e", "", "multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Fuzz(func(t *testing.T, method, path, query, contentType string, body []byte) {
		u := &url.URL{Scheme: "http", Host: "api.example", Path: path, RawQuery: query}
		req, err := http.NewRequest(method, u.String(), nil)
		if err != nil {
			return
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		v := schema.Check(req, body)
		if !v.Block && v.Route == "" {
			t.Fatalf("%s %s admitted without a route: %+v", method, u, v)
		}
		if v.Block != (len(v.Violations) > 0) {
			t.Fatalf("%s %s: block %v with violations %+v", method, u, v.Block, v.Violations)
		}
	})
}
