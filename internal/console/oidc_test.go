package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/kordon-dev/kordon/internal/console/auth"
)

// TestOIDCLogin logs in through an OpenID Connect provider started in the
// test (oauth2-proxy's mockoidc: discovery, JWKS, authorization and token
// endpoints over HTTP): the code flow with state, nonce and PKCE; a member
// of the editors group becomes an editor, another user a viewer.
func TestOIDCLogin(t *testing.T) {
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer op.Shutdown()
	fx := newFixture(t, 10)
	mgr := auth.New(auth.Options{})
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	defer hs.Close()
	cfg := op.Config()
	oi, err := auth.NewOIDC(context.Background(), auth.OIDCOptions{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: hs.URL + "/console/oidc/callback", Editors: []string{"security"}}, mgr)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Store: fx.Store, Exceptions: fx.Exc, Auth: mgr, OIDC: oi, Assets: fx.Srv.o.Assets})
	mux.Handle("/", srv.Handler())

	for _, tc := range []struct {
		user *mockoidc.MockUser
		role auth.Role
	}{
		{&mockoidc.MockUser{Subject: "1", Email: "sam@example.com", EmailVerified: true, Groups: []string{"security"}}, auth.Editor},
		{&mockoidc.MockUser{Subject: "2", Email: "vic@example.com", EmailVerified: true, Groups: []string{"dev"}}, auth.Viewer},
	} {
		op.QueueUser(tc.user)
		jar, _ := cookiejar.New(nil)
		c := &client{Client: &http.Client{Jar: jar}, base: hs.URL}
		resp, err := c.Get(hs.URL + "/console/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/" || !strings.Contains(string(body), `<div id="root">`) {
			t.Fatalf("%s: login ended at %s with %d: %s", tc.user.Email, resp.Request.URL, resp.StatusCode, body)
		}
		var s auth.Session
		c.get(t, "/console/api/session", &s)
		if s.User != tc.user.Email || s.Role != tc.role || s.CSRF == "" {
			t.Errorf("session %+v, want %s as %s", s, tc.user.Email, tc.role)
		}
	}
	// A callback with a state this server never gave is refused.
	resp, err := http.Get(hs.URL + "/console/oidc/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("forged state: %d", resp.StatusCode)
	}
	var anon map[string]any
	resp, _ = http.Get(hs.URL + "/console/api/session")
	decode(t, resp.Body, &anon)
	resp.Body.Close()
	if anon["oidc"] != true {
		t.Errorf("session without login: %v", anon)
	}
}
