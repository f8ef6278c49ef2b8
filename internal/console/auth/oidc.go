package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCOptions configure login with an OpenID Connect provider
// (authorization code flow with PKCE, state and nonce).
type OIDCOptions struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// at start-up.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback: https://HOST/console/oidc/callback.
	RedirectURL string
	// Editors are the users (email or subject) and groups (the groups
	// claim) given the editor role; everyone else the provider
	// authenticates is a viewer.
	Editors []string
}

// OIDC logs users in with an OpenID Connect provider. It is safe for
// concurrent use.
type OIDC struct {
	cfg      oauth2.Config
	verifier *oidc.IDTokenVerifier
	editors  []string
	m        *Manager
	mu       sync.Mutex
	pending  map[string]pendingLogin // by state
}

type pendingLogin struct {
	nonce, verifier string
	expires         time.Time
}

// maxPending bounds the logins under way.
const maxPending = 10000

// NewOIDC reads the provider's discovery document.
func NewOIDC(ctx context.Context, o OIDCOptions, m *Manager) (*OIDC, error) {
	if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" {
		return nil, errors.New("oidc: issuer, client ID and redirect URL are required")
	}
	p, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return &OIDC{
		cfg: oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL, Endpoint: p.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "email", "profile", "groups"}},
		verifier: p.Verifier(&oidc.Config{ClientID: o.ClientID}),
		editors:  o.Editors, m: m, pending: map[string]pendingLogin{},
	}, nil
}

// Login redirects the browser to the provider.
func (o *OIDC) Login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	now := o.m.now()
	o.mu.Lock()
	for k, p := range o.pending {
		if now.After(p.expires) {
			delete(o.pending, k)
		}
	}
	if len(o.pending) >= maxPending {
		o.mu.Unlock()
		http.Error(w, "too many logins under way", http.StatusServiceUnavailable)
		return
	}
	o.pending[state] = pendingLogin{nonce: nonce, verifier: verifier, expires: now.Add(10 * time.Minute)}
	o.mu.Unlock()
	http.Redirect(w, r, o.cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

type claims struct {
	Email  string   `json:"email"`
	Name   string   `json:"preferred_username"`
	Groups []string `json:"groups"`
}

// Callback finishes a login: it checks the state, exchanges the code,
// verifies the ID token (signature by the provider's keys, issuer,
// audience, expiry, nonce), starts a session and redirects to the console.
func (o *OIDC) Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		http.Error(w, "login refused by the provider: "+e, http.StatusUnauthorized)
		return
	}
	state := q.Get("state")
	o.mu.Lock()
	p, ok := o.pending[state]
	delete(o.pending, state)
	o.mu.Unlock()
	if !ok || o.m.now().After(p.expires) {
		http.Error(w, "login: unknown or expired state (start again)", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	tok, err := o.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		http.Error(w, "login: code exchange failed", http.StatusUnauthorized)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != p.nonce {
		http.Error(w, "login: the ID token does not verify", http.StatusUnauthorized)
		return
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		http.Error(w, "login: bad ID token claims", http.StatusUnauthorized)
		return
	}
	user := c.Email
	if user == "" {
		user = idt.Subject
	}
	role := Viewer
	if slices.Contains(o.editors, user) || slices.Contains(o.editors, idt.Subject) || slices.ContainsFunc(c.Groups, func(g string) bool { return slices.Contains(o.editors, g) }) {
		role = Editor
	}
	s := o.m.Start(user, role)
	o.m.SetCookie(w, s)
	http.Redirect(w, r, "/", http.StatusFound)
}
