package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/testenv"
)

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./cmd/kordon -run %s -update):\n%s", path, t.Name(), got)
	}
}

// TestSensorReplayGolden guards the sensor's event output: a recorded
// stream replayed with a baseline learned from its first events and a
// response policy (dry-run).
func TestSensorReplayGolden(t *testing.T) {
	out, stderr, code := run(t, "", "sensor", "replay", "testdata/sensor/replay.jsonl", "--learn-events", "3", "--policy", "testdata/sensor/policy.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "sensor/replay.golden.jsonl", out)
	for _, id := range []string{"KOR-RT-100", "KOR-RT-001", "KOR-RT-102", "KOR-RT-004", "KOR-RT-005"} {
		if !strings.Contains(out, `"ruleID":"`+id+`"`) {
			t.Errorf("replay reported no %s", id)
		}
	}
	if !strings.Contains(out, `"dryRun":"true","exe":"/tmp/kworker"`) && !strings.Contains(out, `"response":"kill-pod"`) {
		t.Errorf("the kill-pod response of KOR-RT-005 is not reported")
	}
	_, stderr, code = run(t, "", "sensor", "replay", "testdata/sensor/policy.yaml")
	if code != exitUsage || !strings.Contains(stderr, "policy.yaml:1") {
		t.Errorf("a non-event file: exit %d, %s", code, stderr)
	}
}

// TestSensorInstall checks the rendered objects against a golden file and
// creates them on a real API server.
func TestSensorInstall(t *testing.T) {
	out, stderr, code := run(t, "", "sensor", "install", "--image", "kordon:test", "--allow-kill-pod", "--policy", "testdata/sensor/policy.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "sensor/install.golden.yaml", out)
	env := testenv.Start(t)
	ctx := context.Background()
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 6 {
		t.Fatalf("%d objects, want 6", len(docs))
	}
	var (
		ns  corev1.Namespace
		sa  corev1.ServiceAccount
		cr  rbacv1.ClusterRole
		crb rbacv1.ClusterRoleBinding
		cm  corev1.ConfigMap
		ds  appsv1.DaemonSet
	)
	for i, obj := range []any{&ns, &sa, &cr, &crb, &cm, &ds} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), obj); err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
	}
	c := env.Client
	opts := metav1.CreateOptions{}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &ns, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, &sa, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &cr, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &crb, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, &cm, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, &ds, opts); err != nil {
		t.Fatalf("the API server refused the DaemonSet: %v", err)
	}
	_, stderr, code = run(t, "", "sensor", "install", "--policy", "testdata/sensor/replay.jsonl")
	if code != exitUsage || !strings.Contains(stderr, "replay.jsonl") {
		t.Errorf("a bad policy: exit %d, %s", code, stderr)
	}
}

// TestSensorRunRejectsBadLimits checks that impossible kernel limits are
// a usage error naming the flags, before anything is loaded.
func TestSensorRunRejectsBadLimits(t *testing.T) {
	for _, args := range [][]string{
		{"--kernel-open-burst", "0"},
		{"--kernel-net-rate", "-5"},
		{"--kernel-dedup-window", "-1s"},
	} {
		_, stderr, code := run(t, "", append([]string{"sensor", "run", "--no-kubernetes"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--kernel-open-rate") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}
