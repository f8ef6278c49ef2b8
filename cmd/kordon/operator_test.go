package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/testenv"
)

func TestOperatorUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "feeds.yaml")
	if err := os.WriteFile(bad, []byte("- name: web\n  selectr: app=web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", "x.db", "--server", "http://x"}, "choose one"},
		{[]string{"--baseline-git", "file:///x", "--baseline-dir", "x"}, "choose one"},
		{[]string{"--no-posture"}, "nothing to do"},
		{[]string{"--feeds", bad}, bad + ":2"},
		{[]string{"--log-level", "loud"}, "--log-level"},
	} {
		_, errOut, code := run(t, "", append([]string{"operator"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestOperatorToRemoteServer runs kordon operator as a user would, with a
// kubeconfig, against a real API server, sending findings to a kordon
// server's HTTP API with a token; its metrics are scraped.
func TestOperatorToRemoteServer(t *testing.T) {
	env := testenv.Start(t)
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{"../../internal/operator/testdata/crd"}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	ns := env.CreateNamespace(t, "operator")
	yes := true
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "priv"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
	if _, err := env.Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	qenv, err := query.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	const token = "operator-test-token-123"
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Store: st, Env: qenv, Token: token}).Handler())
	defer srv.Close()
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"operator", "--kubeconfig", env.Kubeconfig(t), "--server", srv.URL, "--token-file", tokFile,
			"--metrics-addr", metricsAddr, "--health-addr", "0", "--debounce", "100ms"})
		done <- cmd.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		g, err := st.Count(ctx, store.Filter{Namespaces: []string{ns}, RuleIDs: []string{"KOR-POD-001"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(g) == 1 && g[0].Count > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finding reached the server:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The metrics are set when the cycle ends, after the findings were sent.
	var missing []string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = nil
		for _, want := range []string{`kordon_operator_cycles_total{loop="posture",result="ok"}`, `kordon_operator_findings{loop="posture",severity="high"}`,
			`kordon_operator_report_writes_total{outcome="created",scope="posture"}`, "controller_runtime_"} {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("metrics lack %v", missing)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("operator: %v\n%s", err, out.String())
	}
}
