package console

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console/assets"
	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
	"github.com/kordon-dev/kordon/internal/testgen"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Test tokens.
const (
	editorToken = "editor-token-0123456789"
	viewerToken = "viewer-token-0123456789"
)

// testNow is the fixed clock of the tests: the generated records end
// shortly before it.
var testNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fill appends records from the store's generator until it holds
// findings findings (and the events generated among them).
func fill(tb testing.TB, st store.Store, findings int) { fillSome(tb, st, findings, 1) }

// fillSome is fill keeping one generated event in eventEvery.
func fillSome(tb testing.TB, st store.Store, findings, eventEvery int) {
	tb.Helper()
	ctx := context.Background()
	// About 7% of generated records are findings; spread them over (a
	// little less than) the last 13 days.
	span := 13 * 24 * time.Hour
	g := storetest.New(1, testNow.Add(-span), span/time.Duration(findings*16), 40)
	n, ev := 0, 0
	for n < findings {
		batch := g.Batch(5000)
		var keep []store.Record
		for _, r := range batch {
			if r.Type == store.TypeFinding {
				if n == findings {
					continue
				}
				n++
			} else if ev++; ev%eventEvery != 0 {
				continue
			}
			keep = append(keep, r)
		}
		if err := st.Append(ctx, keep); err != nil {
			tb.Fatal(err)
		}
	}
}

type fixture struct {
	URL     string
	Cluster *model.Cluster
	Store   store.Store
	Exc     *exceptions.Store
	Srv     *Server
	Map     *netmap.Map
}

// newFixture starts the console with a real SQLite store holding the
// given number of generated findings, and a real exceptions database.
func newFixture(tb testing.TB, findings int) *fixture { return newFixtureSized(tb, findings, 4, 1200) }

// newFixtureSized is newFixture keeping one generated event in eventEvery,
// with an inventory of about objects generated objects.
func newFixtureSized(tb testing.TB, findings, eventEvery, objects int) *fixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kordon.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	fillSome(tb, st, findings, eventEvery)
	exc, err := exceptions.Open(ctx, filepath.Join(dir, "kordon-console.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { exc.Close() })
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		tb.Fatal(err)
	}
	c, problems := model.FromObjects(testgen.Generate(objects, 3, testgen.Shape{PerNamespace: 150}))
	if len(problems) > 0 {
		tb.Fatalf("generated inventory: %v", problems)
	}
	// The timeout is generous: under the race detector on a busy machine
	// the pure-Go SQLite is many times slower.
	nm := netmap.New(c)
	srv := New(Options{Store: st, Map: nm, Timeout: 2 * time.Minute, Catalogue: cat, Exceptions: exc, Assets: assets.FS(), Now: func() time.Time { return testNow },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: auth.New(auth.Options{Tokens: []auth.Token{
			{Secret: editorToken, User: "alice", Role: auth.Editor},
			{Secret: viewerToken, User: "victor", Role: auth.Viewer},
		}})})
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	return &fixture{URL: hs.URL, Cluster: c, Store: st, Exc: exc, Srv: srv, Map: nm}
}

// client is a logged-in HTTP client with its CSRF token.
type client struct {
	*http.Client
	base, csrf string
}

func login(tb testing.TB, base, token string) *client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{Client: &http.Client{Jar: jar}, base: base}
	resp, err := c.Post(base+"/console/login", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	var s auth.Session
	decode(tb, resp.Body, &s)
	c.csrf = s.CSRF
	return c
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}
