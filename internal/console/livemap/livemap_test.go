package livemap_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console"
	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/livemap"
	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

func deployment(ns, name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec: {containers: [{name: c, image: registry.example.com/%[2]s:1, ports: [{containerPort: 8080}]}]}
`, ns, name)
}

func create(t *testing.T, env *testenv.Env, text string) {
	t.Helper()
	objs, errs := k8s.Decode([]byte(text), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := env.Create(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
}

func workloads(m *netmap.Map, ns string) map[string]netmap.Node {
	v, _ := m.Namespace(ns)
	out := map[string]netmap.Node{}
	for _, n := range v.Nodes {
		if n.Namespace == ns {
			out[n.ID] = n
		}
	}
	return out
}

// TestLiveMap builds the map from a real API server, serves it in the
// console, and sees a workload created later appear after a refresh.
func TestLiveMap(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "shop")
	create(t, env, deployment(ns, "web")+"---\n"+deployment(ns, "db")+`---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: `+ns+`}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
`)
	opts := k8s.ClusterOptions{RESTConfig: env.Config, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m, st, err := livemap.Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ws := workloads(m, ns)
	if len(ws) != 2 || ws[ns+"/db"].Unprotected != 0 || ws[ns+"/web"].Unprotected != 1 || st.Policies < 1 {
		t.Fatalf("workloads of %s: %+v (stats %+v)", ns, ws, st)
	}
	if _, allowed, err := m.Trace(ns+"/web", ns+"/db", "tcp/8080"); err != nil || !allowed {
		t.Errorf("web → db tcp/8080: allowed %v, %v", allowed, err)
	}
	if _, allowed, _ := m.Trace(ns+"/db", ns+"/web", "tcp/8080"); !allowed {
		t.Error("db → web: web has no policy, want allowed")
	}

	// The console serves the map it is handed, and each refresh's.
	srv := console.New(console.Options{Auth: auth.New(auth.Options{Tokens: []auth.Token{{Secret: "viewer-token-0123456789", User: "v", Role: auth.Viewer}}})})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(hs.URL+"/console/login", "application/json", strings.NewReader(`{"token":"viewer-token-0123456789"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	get := func() (int, string) {
		resp, err := c.Get(hs.URL + "/console/api/map?flows=off&namespace=" + ns)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(); code != 404 {
		t.Errorf("before a map: %d", code)
	}
	maps := make(chan *netmap.Map, 10)
	r := &livemap.Refresher{Cluster: opts, Interval: 200 * time.Millisecond, Log: opts.Logger,
		Set: func(m *netmap.Map) { srv.SetMap(m); maps <- m }}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-maps
	if code, body := get(); code != 200 || !strings.Contains(body, `"`+ns+`/db"`) {
		t.Errorf("after the first map: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	create(t, env, deployment(ns, "cache"))
	deadline := time.After(time.Minute)
	for found := false; !found; {
		select {
		case m := <-maps:
			_, found = workloads(m, ns)[ns+"/cache"]
		case <-deadline:
			t.Fatal("the new workload never appeared on a refreshed map")
		}
	}
	if code, body := get(); code != 200 || !strings.Contains(body, `"`+ns+`/cache"`) {
		t.Errorf("after the refresh: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run ended with %v, want context.Canceled", err)
	}
}
