package response

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/sensor/event"
	"github.com/kordon-dev/kordon/internal/testenv"
)

func TestDecide(t *testing.T) {
	p := &Policy{
		Default:    Alert,
		Deviations: Kill,
		Rules:      map[string]Action{"KOR-RT-006": KillPod},
		Workloads: []WorkloadPolicy{
			{Namespace: "dev-*", Action: Alert},
			{Namespace: "payments", Owner: "api", Rules: []string{"KOR-RT-001"}, Action: KillPod},
		},
	}
	api := &event.Workload{Namespace: "payments", Owner: "api"}
	for _, c := range []struct {
		rule      string
		deviation bool
		w         *event.Workload
		want      Action
	}{
		{"KOR-RT-001", false, api, KillPod},
		{"KOR-RT-002", false, api, Alert},
		{"KOR-RT-006", false, api, KillPod},
		{"KOR-RT-100", true, api, Kill},
		{"KOR-RT-006", false, &event.Workload{Namespace: "dev-alice"}, Alert},
		{"KOR-RT-006", false, nil, KillPod},
	} {
		if got := p.Decide(c.rule, c.deviation, c.w); got != c.want {
			t.Errorf("%s deviation=%v %+v: %s, want %s", c.rule, c.deviation, c.w, got, c.want)
		}
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ doc, want string }{
		{"default: explode\n", "default"},
		{"rules: {KOR-RT-001: stop}\n", "rules.KOR-RT-001"},
		{"workloads: [{namespace: a}]\n", "workloads[0].action: required"},
		{"defualt: kill\n", "defualt"},
	} {
		name := filepath.Join(dir, "p.yaml")
		os.WriteFile(name, []byte(c.doc), 0o600)
		_, err := LoadPolicy(name)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v, want an error naming %s and %q", c.doc, err, name, c.want)
		}
	}
}

// TestKillRealProcess kills a real process, and reports what dry-run
// would have done without doing it.
func TestKillRealProcess(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e := &event.Event{Time: time.Now(), Kind: event.Exec, PID: uint32(cmd.Process.Pid)}

	dry := NewResponder(&Policy{Default: Kill, DryRun: true}, nil)
	if out := dry.Respond(context.Background(), "KOR-RT-001", false, e); !out.DryRun || out.Done != "alerted" || out.Action != Kill {
		t.Errorf("dry run: %+v", out)
	}
	select {
	case <-done:
		t.Fatal("dry run killed the process")
	case <-time.After(50 * time.Millisecond):
	}
	r := NewResponder(&Policy{Default: Kill}, nil)
	out := r.Respond(context.Background(), "KOR-RT-001", false, e)
	if out.Err != nil || out.Done != "killed" {
		t.Fatalf("kill: %+v", out)
	}
	select {
	case err := <-done:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if err == nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("process ended with %v, want SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process is still running")
	}
	if err := KillProcess(cmd.Process.Pid); err == nil {
		t.Error("killing an exited process gave no error")
	}
}

// TestKillPod deletes a pod through a real API server.
func TestKillPod(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	ns := env.CreateNamespace(t, "sensor-kill")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "miner", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &event.Event{Time: time.Now(), Kind: event.Exec, PID: 1, Workload: &event.Workload{Namespace: ns, Pod: "miner", Container: "app"}}
	dry := NewResponder(&Policy{Default: KillPod, DryRun: true}, env.Client)
	if out := dry.Respond(ctx, "KOR-RT-006", false, e); !out.DryRun {
		t.Errorf("dry run: %+v", out)
	}
	if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "miner", metav1.GetOptions{}); err != nil {
		t.Fatalf("dry run deleted the pod: %v", err)
	}
	r := NewResponder(&Policy{Default: KillPod}, env.Client)
	if out := r.Respond(ctx, "KOR-RT-006", false, e); out.Err != nil || out.Done != "killed" {
		t.Fatalf("kill-pod: %+v", out)
	}
	// No kubelet runs: a pod never scheduled is removed at once.
	testenv.Eventually(t, "pod deleted", func() error {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, "miner", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.ErrExist
	})
}
