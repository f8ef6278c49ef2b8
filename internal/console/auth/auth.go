// Package auth authenticates the web console's users and guards its
// state-changing calls: a static token login (for small setups) that
// starts a server-side session, an HttpOnly SameSite=Strict session cookie
// that holds only a random session ID, roles (viewer, editor) and a
// per-session CSRF token every state-changing request must echo in a
// header.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Role says what a user may do.
type Role string

// Roles: a viewer reads every page; an editor also creates and revokes
// exceptions.
const (
	Viewer Role = "viewer"
	Editor Role = "editor"
)

// CookieName is the session cookie.
const CookieName = "kordon_session"

// CSRFHeader carries the session's CSRF token on state-changing requests.
const CSRFHeader = "X-Kordon-CSRF"

// Session is a logged-in user.
type Session struct {
	User    string    `json:"user"`
	Role    Role      `json:"role"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
	id      string
}

// CanEdit reports whether the session may change state.
func (s *Session) CanEdit() bool { return s.Role == Editor }

// Token is a static login token and the user and role it logs in as.
type Token struct {
	Secret string
	User   string
	Role   Role
}

// Manager keeps sessions in memory (a restart logs everyone out). It is
// safe for concurrent use.
type Manager struct {
	tokens   []Token
	ttl      time.Duration
	max      int
	secure   bool
	now      func() time.Time
	mu       sync.Mutex
	sessions map[string]*Session
}

// Options configure a Manager.
type Options struct {
	Tokens []Token
	// TTL is how long a session lasts (default 8h).
	TTL time.Duration
	// MaxSessions bounds the sessions kept (default 10,000); the oldest
	// is dropped beyond it.
	MaxSessions int
	// Secure marks the cookie Secure (set when serving HTTPS).
	Secure bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// New returns a Manager.
func New(o Options) *Manager {
	m := &Manager{tokens: o.Tokens, ttl: o.TTL, max: o.MaxSessions, secure: o.Secure, now: o.Now, sessions: map[string]*Session{}}
	if m.ttl <= 0 {
		m.ttl = 8 * time.Hour
	}
	if m.max <= 0 {
		m.max = 10000
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrBadToken is returned for a token that logs in as no one.
var ErrBadToken = errors.New("wrong token")

// LoginToken checks a static token and starts a session.
func (m *Manager) LoginToken(secret string) (*Session, error) {
	var match *Token
	for i := range m.tokens {
		// Compare with every token, so the time taken does not say which
		// one matched.
		if subtle.ConstantTimeCompare([]byte(secret), []byte(m.tokens[i].Secret)) == 1 && secret != "" {
			match = &m.tokens[i]
		}
	}
	if match == nil {
		return nil, ErrBadToken
	}
	return m.Start(match.User, match.Role), nil
}

// Start opens a session for a user authenticated elsewhere (OIDC).
func (m *Manager) Start(user string, role Role) *Session {
	now := m.now()
	s := &Session{User: user, Role: role, CSRF: random(), Expires: now.Add(m.ttl), id: random()}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sessions) >= m.max {
		var oldest *Session
		for _, o := range m.sessions {
			if oldest == nil || o.Expires.Before(oldest.Expires) {
				oldest = o
			}
		}
		delete(m.sessions, oldest.id)
	}
	m.sessions[s.id] = s
	return s
}

// SetCookie writes the session cookie.
func (m *Manager) SetCookie(w http.ResponseWriter, s *Session) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.id, Path: "/", Expires: s.Expires, HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteStrictMode})
}

// Logout ends the request's session and clears the cookie.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		m.mu.Lock()
		delete(m.sessions, c.Value)
		m.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteStrictMode})
}

// Session returns the request's live session, or nil.
func (m *Manager) Session(r *http.Request) *Session {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[c.Value]
	if s == nil {
		return nil
	}
	if !m.now().Before(s.Expires) {
		delete(m.sessions, c.Value)
		return nil
	}
	return s
}

// CheckCSRF reports whether a state-changing request may proceed for the
// session: the header must carry the session's CSRF token, and a browser's
// Origin (when sent) must be this server's.
func CheckCSRF(r *http.Request, s *Session) error {
	if err := SameOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return errors.New("missing or wrong CSRF token")
	}
	return nil
}

// SameOrigin refuses a request a browser sent from another site: by
// Sec-Fetch-Site, or else by an Origin header naming another host.
func SameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return errors.New("cross-site request refused")
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errors.New("cross-origin request refused")
		}
	}
	return nil
}
