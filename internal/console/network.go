package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/kordon-dev/kordon/internal/console/auth"
)

func (s *Server) noMap(w http.ResponseWriter) bool {
	if s.o.Map == nil {
		writeError(w, http.StatusNotFound, "no cluster inventory: start kordon server with --manifests")
		return true
	}
	return false
}

// networkMap answers the namespaces level, or with ?namespace= the
// workloads of one namespace.
func (s *Server) networkMap(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.noMap(w) {
		return
	}
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		writeJSON(w, http.StatusOK, s.o.Map.Namespaces())
		return
	}
	v, ok := s.o.Map.Namespace(ns)
	if !ok {
		writeError(w, http.StatusNotFound, "namespace %q is not in the inventory", ns)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// trace explains one connection as `kordon netpol can -o json` does.
func (s *Server) trace(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.noMap(w) {
		return
	}
	v := r.URL.Query()
	src, dst, port := strings.TrimSpace(v.Get("src")), strings.TrimSpace(v.Get("dst")), strings.TrimSpace(v.Get("port"))
	if src == "" || dst == "" || len(src)+len(dst)+len(port) > 600 {
		writeError(w, http.StatusBadRequest, "trace: want src and dst (namespace/name, a pod name or an address) and optionally port (tcp/80)")
		return
	}
	raw, _, err := s.o.Map.Trace(src, dst, port)
	if err != nil {
		writeError(w, http.StatusBadRequest, "trace: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (s *Server) effective(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.noMap(w) {
		return
	}
	id := r.URL.Query().Get("workload")
	e, ok := s.o.Map.Effective(id)
	if !ok {
		writeError(w, http.StatusNotFound, "workload %q is not in the inventory", id)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// maxIntent bounds an intent sent for preview.
const maxIntent = 256 << 10

type previewRequest struct {
	Intent string `json:"intent"`
}

// previewIntent compiles an intent and answers the generated policies and
// the connectivity diff. It changes nothing, so a viewer may ask, with the
// CSRF token like every POST.
func (s *Server) previewIntent(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.noMap(w) {
		return
	}
	var req previewRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxIntent+1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "preview: want {\"intent\": \"...\"} of at most %d bytes: %v", maxIntent, err)
		return
	}
	pv, err := s.o.Map.Preview([]byte(req.Intent))
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "intent: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, pv)
}
