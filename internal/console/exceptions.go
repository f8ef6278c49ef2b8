package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
)

const maxList = 10000

func (s *Server) rule(_ context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.o.Catalogue == nil {
		writeError(w, http.StatusNotFound, "no rule catalogue")
		return
	}
	rule, ok := s.o.Catalogue.Lookup(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "rule %q is not in the catalogue", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": rule.ID, "aliases": rule.Aliases, "title": rule.Title, "description": rule.Description, "severity": rule.Severity,
		"controls": rule.Controls, "remediation": rule.Remediation, "references": rule.References, "native": rule.IsNative(),
	})
}

func (s *Server) noExceptions(w http.ResponseWriter) bool {
	if s.o.Exceptions == nil {
		writeError(w, http.StatusNotFound, "exceptions are not kept by this server")
		return true
	}
	return false
}

func (s *Server) listExceptions(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	if s.noExceptions(w) {
		return
	}
	list, err := s.o.Exceptions.List(ctx, r.URL.Query().Get("all") == "1", maxList)
	if err != nil {
		s.fail(w, "list exceptions", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (s *Server) auditTrail(ctx context.Context, w http.ResponseWriter, _ *http.Request, _ *auth.Session) {
	if s.noExceptions(w) {
		return
	}
	list, err := s.o.Exceptions.Audit(ctx, maxList)
	if err != nil {
		s.fail(w, "audit trail", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (s *Server) exportExceptions(ctx context.Context, w http.ResponseWriter, _ *http.Request, _ *auth.Session) {
	if s.noExceptions(w) {
		return
	}
	out, err := s.o.Exceptions.Export(ctx)
	if err != nil {
		s.fail(w, "export exceptions", err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Disposition", `attachment; filename="kordon-exceptions.yaml"`)
	_, _ = w.Write(out)
}

// NewException is the body of POST /console/api/exceptions.
type NewException struct {
	Rule      string `json:"rule"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Reason    string `json:"reason"`
	Expires   string `json:"expires"`
}

func (s *Server) createException(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *auth.Session) {
	if s.noExceptions(w) {
		return
	}
	var req NewException
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "exception: %v", err)
		return
	}
	e, err := s.o.Exceptions.Create(ctx, exceptions.Exception{Rule: req.Rule, Kind: req.Kind, Namespace: req.Namespace, Name: req.Name,
		Reason: req.Reason, Expires: req.Expires}, sess.User, s.o.Now())
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "exception: %v", err)
		return
	}
	s.images.forget()
	s.o.Log.Info("console exception created", "id", e.ID, "rule", e.Rule, "author", sess.User)
	writeJSON(w, http.StatusCreated, e)
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) revokeException(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *auth.Session) {
	if s.noExceptions(w) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "exception ID %q: not a number", r.PathValue("id"))
		return
	}
	var req revokeRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "revoke: %v", err)
		return
	}
	switch err := s.o.Exceptions.Revoke(ctx, id, sess.User, req.Reason, s.o.Now()); {
	case errors.Is(err, exceptions.ErrNotFound):
		writeError(w, http.StatusNotFound, "exception %d: %v", id, err)
		return
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "revoke: %v", err)
		return
	}
	s.images.forget()
	s.o.Log.Info("console exception revoked", "id", id, "by", sess.User)
	w.WriteHeader(http.StatusNoContent)
}
