package servermetrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

func TestCountsRequestsAndStore(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := New(st)
	api := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/query" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	srv := httptest.NewServer(api)
	defer srv.Close()
	for _, p := range []string{"/api/v1/query", "/healthz", "/wp-admin/../x", "/random-1", "/random-2"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ms := httptest.NewServer(m.Handler())
	defer ms.Close()
	resp, err := http.Get(ms.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`kordon_server_http_requests_total{code="401",route="/api/v1/query"} 1`,
		`kordon_server_http_requests_total{code="200",route="/healthz"} 1`,
		`kordon_server_http_requests_total{code="200",route="other"} 3`,
		"kordon_server_store_records 0",
		"kordon_server_store_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
