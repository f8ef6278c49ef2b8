// Package console serves Kordon's web console: the compiled front end
// (embedded), its login and session, and the page data it reads (overview
// aggregations, findings paged and grouped on the server, rules,
// exceptions with their audit trail). Every response carries a strict
// Content-Security-Policy; every state-changing call needs a session of
// the editor role and its CSRF token.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store"
)

// CSP is the Content-Security-Policy of every response: scripts and
// styles only from this server's files (no inline code, no eval), no
// frames, no plug-ins, requests only to this server.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// Options configure the console.
type Options struct {
	Store      store.Store
	Catalogue  *rules.Catalogue
	Exceptions *exceptions.Store
	Auth       *auth.Manager
	// OIDC, when set, offers login with an OpenID Connect provider.
	OIDC *auth.OIDC
	// Map is the network map of the cluster inventory (nil: none given);
	// SetMap replaces it.
	Map *netmap.Map
	// Assets is the compiled front end (default: the embedded build).
	Assets fs.FS
	// Timeout bounds the work of one page-data request (default 10s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Server serves the console.
type Server struct {
	o         Options
	cache     overviewCache
	images    imageCache
	flowCache flowCache
	nmap      atomic.Pointer[netmap.Map]
}

// New returns a console server.
func New(o Options) *Server {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{o: o}
	s.nmap.Store(o.Map)
	return s
}

// SetMap replaces the network map (a live cluster's map, rebuilt on a
// schedule); requests already running finish with the map they read.
func (s *Server) SetMap(m *netmap.Map) { s.nmap.Store(m) }

// Handler returns the console's handler, to be mounted at "/" beside the
// store API (/api/v1) and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /console/login", s.login)
	mux.HandleFunc("POST /console/logout", s.logout)
	if s.o.OIDC != nil {
		mux.HandleFunc("GET /console/oidc/login", s.o.OIDC.Login)
		mux.HandleFunc("GET /console/oidc/callback", s.o.OIDC.Callback)
	}
	mux.HandleFunc("GET /console/api/session", s.session)
	mux.Handle("GET /console/api/overview", s.read(s.overview))
	mux.Handle("GET /console/api/findings", s.read(s.findings))
	mux.Handle("GET /console/api/rules/{id}", s.read(s.rule))
	mux.Handle("GET /console/api/images", s.read(s.imagesPage))
	mux.Handle("GET /console/api/images/vulns", s.read(s.imageVulns))
	mux.Handle("GET /console/api/map", s.read(s.networkMap))
	mux.Handle("GET /console/api/trace", s.read(s.trace))
	mux.Handle("GET /console/api/effective", s.read(s.effective))
	mux.Handle("POST /console/api/intent/preview", s.post(s.previewIntent))
	mux.Handle("POST /console/api/rules/test", s.post(s.testRules))
	mux.Handle("GET /console/api/exceptions", s.read(s.listExceptions))
	mux.Handle("GET /console/api/exceptions/audit", s.read(s.auditTrail))
	mux.Handle("GET /console/api/exceptions/export", s.read(s.exportExceptions))
	mux.Handle("POST /console/api/exceptions", s.edit(s.createException))
	mux.Handle("POST /console/api/exceptions/{id}/revoke", s.edit(s.revokeException))
	mux.HandleFunc("/console/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such console API")
	})
	mux.Handle("/", s.static())
	return secure(mux)
}

// secure adds the security headers to every response.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

type handler func(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *auth.Session)

// read serves a page-data request of any logged-in user.
func (s *Server) read(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.o.Auth.Session(r)
		if sess == nil {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), s.o.Timeout)
		defer cancel()
		h(ctx, w, r, sess)
	})
}

// post serves a POST that changes nothing (a preview) for any logged-in
// user, with the CSRF token.
func (s *Server) post(h handler) http.Handler {
	return s.read(func(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *auth.Session) {
		if err := auth.CheckCSRF(r, sess); err != nil {
			writeError(w, http.StatusForbidden, "%v", err)
			return
		}
		h(ctx, w, r, sess)
	})
}

// edit serves a state-changing request: an editor's, with the CSRF token.
func (s *Server) edit(h handler) http.Handler {
	return s.read(func(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *auth.Session) {
		if err := auth.CheckCSRF(r, sess); err != nil {
			writeError(w, http.StatusForbidden, "%v", err)
			return
		}
		if !sess.CanEdit() {
			writeError(w, http.StatusForbidden, "role %s may not change anything (editor needed)", sess.Role)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		h(ctx, w, r, sess)
	})
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, Error{Error: fmt.Sprintf(format, args...)})
}

// fail answers an error of the store: 504 on timeout, 500 otherwise.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "%s: took longer than %s", what, s.o.Timeout)
		return
	}
	s.o.Log.Error("console", "what", what, "err", err)
	writeError(w, http.StatusInternalServerError, "%s: %v", what, err)
}

type loginRequest struct {
	Token string `json:"token"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := auth.SameOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, "%v", err)
		return
	}
	var req loginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "login: want {\"token\": \"...\"}: %v", err)
		return
	}
	sess, err := s.o.Auth.LoginToken(req.Token)
	if err != nil {
		s.o.Log.Warn("console login refused", "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "login: %v", err)
		return
	}
	s.o.Log.Info("console login", "user", sess.User, "role", sess.Role, "remote", r.RemoteAddr)
	s.o.Auth.SetCookie(w, sess)
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess := s.o.Auth.Session(r)
	if sess != nil {
		if err := auth.CheckCSRF(r, sess); err != nil {
			writeError(w, http.StatusForbidden, "%v", err)
			return
		}
	}
	s.o.Auth.Logout(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// session answers the request's session, or {"user": "", "oidc": BOOL}
// when it has none (so that the app shows its login form, with single
// sign-on when OIDC is set up, without an error).
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sess := s.o.Auth.Session(r)
	if sess == nil {
		writeJSON(w, http.StatusOK, map[string]any{"user": "", "oidc": s.o.OIDC != nil})
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

// static serves the front end; paths without a file get index.html (the
// app routes in the browser).
func (s *Server) static() http.Handler {
	files := http.FileServerFS(s.o.Assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
			return
		}
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(s.o.Assets, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") { // content-hashed names
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(s.o.Assets, "index.html")
		if err != nil {
			writeError(w, http.StatusInternalServerError, "console build missing: %v (run make console)", err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}
