package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/hubble/hubbletest"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestServerFollowsHubble runs kordon server --hubble against a real gRPC
// Observer server, then queries the flows it stored (attributed from
// --pod-history, enriched from --intel-feed).
func TestServerFollowsHubble(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kordon.db")
	feed := writeFile(t, dir, "blocklist.txt", "203.0.113.7\n")
	metricsAddr := freeAddr(t)
	hs := hubbletest.New(time.Now().Add(-time.Hour))
	_, hubbleAddr := hubbletest.Serve(t, "127.0.0.1:0", hs)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"server", "--db", db, "--addr", freeAddr(t), "--no-auth", "--no-console", "--retention-age", "0",
			"--pod-history", "../../internal/flowlog/testdata/pods.json", "--intel-feed", "name=blocklist,file=" + feed,
			"--hubble", hubbleAddr, "--hubble-plaintext", "--metrics-addr", metricsAddr})
		done <- cmd.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(hs.Requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not call GetFlows:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// 10.0.1.5 is web-old's from 10:00 to 11:00 and ledger-0's from 11:05
	// (pods.json); Hubble's flows name no pods here.
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	hs.Add(hubbletest.TCPFlow("1", at("2026-03-01T10:30:00Z"), "10.0.1.5", "203.0.113.7", 443),
		hubbletest.TCPFlow("2", at("2026-03-01T11:30:00Z"), "10.0.1.5", "198.51.100.1", 443))
	dropped := hubbletest.TCPFlow("3", at("2026-03-01T11:31:00Z"), "10.0.1.5", "198.51.100.1", 22)
	dropped.Verdict = flowpb.Verdict_DROPPED
	hs.Add(dropped)
	for hs.Sent.Load() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	// The follower's counts are metrics: wait for the three flows there.
	wantMetric := `kordon_server_hubble_flows_total{server="` + hubbleAddr + `"} 3`
	for {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), wantMetric) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s", wantMetric)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"msg":"hubble: stopped"`) || !strings.Contains(out.String(), `"flows":3`) {
		t.Errorf("log lacks the follower's stats:\n%s", out.String())
	}
	stdout, errOut, code := run(t, "", "query", "--db", db, "-o", "json", "--group-by", "engine,resource.name,action", `engine in ["flow", "intel"]`)
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, errOut)
	}
	var res query.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	got := map[string]int64{}
	for _, g := range res.Groups {
		got[g.Key["engine"]+" "+g.Key["resource.name"]+" "+g.Key["action"]] = g.Count
	}
	want := map[string]int64{"flow web-old observed": 1, "flow ledger-0 observed": 1, "flow ledger-0 denied": 1, "intel web-old alerted": 1}
	if len(got) != len(want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("group %q: %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

func TestServerHubbleUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--hubble-plaintext"}, "--hubble-* options without --hubble ADDR"},
		{[]string{"--hubble", "relay:443", "--hubble-plaintext", "--hubble-ca-file", "ca.pem"}, "plaintext with TLS options"},
		{[]string{"--hubble", "relay:443", "--hubble-ca-file", filepath.Join(dir, "missing.pem")}, "--hubble: CA: open"},
		{[]string{"--hubble", "relay:443", "--hubble-cert-file", "c.pem"}, "client certificate and key go together"},
		{[]string{"--in-cluster", "--kubeconfig", "k"}, "--in-cluster with --kubeconfig or --context"},
		{[]string{"--context", "prod"}, "--context without --kubeconfig"},
		{[]string{"--kubeconfig", filepath.Join(dir, "missing")}, "--kubeconfig: kubeconfig"},
	} {
		args := append([]string{"server", "--no-auth", "--no-console", "--db", filepath.Join(dir, "a.db"), "--addr", "127.0.0.1:0"}, c.args...)
		_, errOut, code := run(t, "", args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("kordon %s: exit %d, %q; want %d and %q", strings.Join(args, " "), code, errOut, exitUsage, c.want)
		}
	}
}

// TestServerWatchesPods runs kordon server --kubeconfig against the real
// API server: a flow log posted after the watch has synced is attributed
// to the pod that held the address at the flow's time.
func TestServerWatchesPods(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "flows")
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pod, err := env.Client.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := metav1.NewTime(start)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.9", PodIPs: []corev1.PodIP{{IP: "10.244.1.9"}}, StartTime: &st}
	if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"server", "--db", filepath.Join(dir, "kordon.db"), "--addr", addr, "--no-auth", "--no-console", "--retention-age", "0",
			"--kubeconfig", env.Kubeconfig(t)})
		done <- cmd.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "pod watch: synced") {
		if time.Now().After(deadline) {
			t.Fatalf("the pod watch did not sync:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// AWS VPC flow log, version 2: 10.244.1.9 -> 198.51.100.1:443 at 10:30 and, before the pod started, at 09:30.
	body := "2 123456789012 eni-1 10.244.1.9 198.51.100.1 40000 443 6 5 400 1772361000 1772361060 ACCEPT OK\n" +
		"2 123456789012 eni-1 10.244.1.9 198.51.100.1 40001 443 6 5 400 1772357400 1772357460 ACCEPT OK\n"
	resp, err := http.Post("http://"+addr+"/api/v1/flows?format=aws-vpc", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST flows: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server: %v\n%s", err, out.String())
	}
	stdout, errOut, code := run(t, "", "query", "--db", filepath.Join(dir, "kordon.db"), "-o", "json", `engine == "flow"`)
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, errOut)
	}
	var res query.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 2 {
		t.Fatalf("%d flows stored, want 2: %s", len(res.Records), stdout)
	}
	// Oldest first: 09:30 (no pod yet), then 10:30 (web-1).
	if a, b := res.Records[0].Attributes["srcPod"], res.Records[1].Attributes["srcPod"]; a != "" || b != ns+"/web-1" {
		t.Errorf("srcPod %q and %q, want none at 09:30 and %s/web-1 at 10:30", a, b, ns)
	}
}
