package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/netmap"
)

// liveMap returns the network map, or answers 404 when there is none.
func (s *Server) liveMap(w http.ResponseWriter) *netmap.Map {
	m := s.nmap.Load()
	if m == nil {
		writeError(w, http.StatusNotFound, "no cluster inventory: start kordon server with --manifests or --map-cluster")
	}
	return m
}

// networkMap answers the namespaces level, or with ?namespace= the
// workloads of one namespace, with the flows observed in the last 24
// hours overlaid (?flows=DURATION for another window, ?flows=off for
// none).
func (s *Server) networkMap(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	m := s.liveMap(w)
	if m == nil {
		return
	}
	q := r.URL.Query()
	ns := q.Get("namespace")
	var fo *flowOverlay
	if fl := q.Get("flows"); fl != "off" && s.o.Store != nil {
		window := defaultFlowWindow
		if fl != "" {
			d, err := time.ParseDuration(fl)
			if err != nil || d <= 0 || d > maxFlowWindow {
				writeError(w, http.StatusBadRequest, "flows %q: want a duration up to 720h, or off", fl)
				return
			}
			window = d
		}
		var err error
		if fo, err = s.flows(ctx, m, window); err != nil {
			s.fail(w, "observed flows", err)
			return
		}
	}
	var out MapView
	if fo != nil {
		out.Observed = &fo.stats
	}
	if ns == "" {
		if fo != nil {
			out.View = m.NamespacesObserved(fo.overlay)
		} else {
			out.View = m.Namespaces()
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	var ok bool
	if fo != nil {
		out.View, ok = m.NamespaceObserved(ns, fo.overlay)
	} else {
		out.View, ok = m.Namespace(ns)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "namespace %q is not in the inventory", ns)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// trace explains one connection as `kordon netpol can -o json` does.
func (s *Server) trace(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	m := s.liveMap(w)
	if m == nil {
		return
	}
	v := r.URL.Query()
	src, dst, port := strings.TrimSpace(v.Get("src")), strings.TrimSpace(v.Get("dst")), strings.TrimSpace(v.Get("port"))
	if src == "" || dst == "" || len(src)+len(dst)+len(port) > 600 {
		writeError(w, http.StatusBadRequest, "trace: want src and dst (namespace/name, a pod name or an address) and optionally port (tcp/80)")
		return
	}
	raw, _, err := m.Trace(src, dst, port)
	if err != nil {
		writeError(w, http.StatusBadRequest, "trace: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (s *Server) effective(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	m := s.liveMap(w)
	if m == nil {
		return
	}
	id := r.URL.Query().Get("workload")
	e, ok := m.Effective(id)
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
	m := s.liveMap(w)
	if m == nil {
		return
	}
	var req previewRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxIntent+1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "preview: want {\"intent\": \"...\"} of at most %d bytes: %v", maxIntent, err)
		return
	}
	pv, err := m.Preview([]byte(req.Intent))
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "intent: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, pv)
}
