package operator_test

import (
	"net/http"
	"path"
	"strings"
	"sync/atomic"
)

// countBlobs counts GET requests for the layer blobs named in layers.
func countBlobs(h http.Handler, layers map[string]bool, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && layers[path.Base(r.URL.Path)] {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}
