package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/kordon-dev/kordon/internal/console/auth"
)

// TestOIDCInBrowser logs in with single sign-on in chromium: the real
// redirect flow to an OpenID Connect provider started in the test and
// back. A viewer (not in the editors group) sees no way to create an
// exception and is refused when the page asks anyway; an editor gets the
// button.
func TestOIDCInBrowser(t *testing.T) {
	b := newBrowser(t)
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer op.Shutdown()
	fx := newFixture(t, 200)
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
	srv := New(Options{Store: fx.Store, Exceptions: fx.Exc, Catalogue: fx.Srv.o.Catalogue, Auth: mgr, OIDC: oi, Assets: fx.Srv.o.Assets, Now: fx.Srv.o.Now})
	mux.Handle("/", srv.Handler())

	for _, tc := range []struct {
		user *mockoidc.MockUser
		role string
	}{
		{&mockoidc.MockUser{Subject: "2", Email: "vic@example.com", EmailVerified: true, Groups: []string{"dev"}}, "viewer"},
		{&mockoidc.MockUser{Subject: "1", Email: "sam@example.com", EmailVerified: true, Groups: []string{"security"}}, "editor"},
	} {
		op.QueueUser(tc.user)
		b.run(tc.role+": login page", chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(chromedp.ID("sso")))
		if tc.role == "viewer" {
			b.page("login-sso")
		}
		b.run(tc.role+": single sign-on", chromedp.Click(chromedp.ID("sso")), chromedp.WaitVisible(chromedp.ID("severity-cards")))
		if who := get(b, "who", chromedp.Text(chromedp.CSS(".who"))); who != tc.user.Email+" ("+tc.role+")" {
			t.Errorf("signed in as %q, want %s (%s)", who, tc.user.Email, tc.role)
		}
		b.run(tc.role+": findings", chromedp.Click(chromedp.CSS(`a[href="#/findings"]`)), chromedp.WaitVisible(chromedp.CSS("#findings-table tbody tr")))
		buttons := get(b, "exception buttons", chromedp.Evaluate[int](`document.querySelectorAll('#findings-table button.except').length`))
		// Asked directly from the page, with the session's CSRF token.
		status := get(b, "create exception", chromedp.Evaluate[int](`fetch('/console/api/session').then(r => r.json()).then(s =>
		  fetch('/console/api/exceptions', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Kordon-CSRF': s.csrf},
		    body: JSON.stringify({rule: 'KOR-POD-001', reason: 'asked by the page', expires: '2027-01-31'})})).then(r => r.status)`, chromedp.EvalAwaitPromise))
		switch tc.role {
		case "viewer":
			if buttons != 0 || status != 403 {
				t.Errorf("viewer: %d exception buttons, creating one answered %d (want 0 buttons, 403)", buttons, status)
			}
			b.expectLogged("403") // the browser logs the answer
			b.page("findings-viewer")
		default:
			if buttons == 0 || status != 201 {
				t.Errorf("editor: %d exception buttons, creating one answered %d (want some, 201)", buttons, status)
			}
		}
		b.run(tc.role+": log out", chromedp.Click(chromedp.CSS(".top button")), chromedp.WaitVisible(chromedp.ID("sso")))
	}
	list, err := fx.Exc.List(context.Background(), false, 10)
	if err != nil || len(list) != 1 || list[0].Author != "sam@example.com" {
		t.Errorf("exceptions %+v %v: want one, by sam@example.com", list, err)
	}
	if !strings.HasPrefix(hs.URL, "http://127.0.0.1") {
		t.Logf("server at %s", hs.URL)
	}
}
