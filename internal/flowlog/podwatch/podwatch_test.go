package podwatch

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// createPod creates a pod (scheduled on node when node is set, so that
// deleting it is graceful) and sets its status through the status
// subresource, as a kubelet would: running since start with ip.
func createPod(t *testing.T, c kubernetes.Interface, ns, name, node, ip string, start time.Time, owner string) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
	}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, UID: "0f3c9a4e-1111-4222-8333-444455556666", Controller: &yes}}
	}
	created, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := metav1.NewTime(start)
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &st}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func holder(h *flowlog.History, ip string, at time.Time) string {
	p, ok := h.Lookup(netip.MustParseAddr(ip), at)
	if !ok {
		return ""
	}
	return p.Namespace + "/" + p.Name + " " + p.Workload
}

// TestFlowsFromAReusedAddress: pods come and go against the real API
// server and an address passes from one pod to another; the history
// attributes each moment to the pod that held the address then.
func TestFlowsFromAReusedAddress(t *testing.T) {
	env := cluster.Env(t)
	ns := env.CreateNamespace(t, "podwatch")
	h := flowlog.NewHistory()
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second).UTC()
	// A pod that exists before the watch starts: it is listed.
	createPod(t, env.Client, ns, "web-old", "", "10.244.0.5", start, "web-5d8f")

	ctx, cancel := context.WithCancel(context.Background())
	synced := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, env.Client, Options{History: h, Synced: func() { close(synced) }}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()
	select {
	case <-synced:
	case <-time.After(time.Minute):
		t.Fatal("the pod watch did not sync")
	}
	if got := holder(h, "10.244.0.5", start.Add(time.Hour)); got != ns+"/web-old ReplicaSet/web-5d8f" {
		t.Fatalf("after the list: %q", got)
	}

	// web-old is deleted (unscheduled: at once); its address is free.
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "web-old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "web-old's end", func() error {
		if got := holder(h, "10.244.0.5", time.Now().Add(time.Second)); got != "" {
			return fmt.Errorf("the address is still %q's", got)
		}
		return nil
	})
	// db-0 gets the same address later; it runs on a node, so its
	// deletion is graceful.
	dbStart := time.Now().Add(2 * time.Second).Truncate(time.Second).UTC()
	createPod(t, env.Client, ns, "db-0", "node-1", "10.244.0.5", dbStart, "")
	testenv.Eventually(t, "db-0's address", func() error {
		if got := holder(h, "10.244.0.5", dbStart.Add(time.Second)); got != ns+"/db-0 " {
			return fmt.Errorf("holder %q", got)
		}
		return nil
	})
	// A flow from before still belongs to web-old.
	if got := holder(h, "10.244.0.5", start.Add(90*time.Minute)); got != ns+"/web-old ReplicaSet/web-5d8f" {
		t.Errorf("a flow of an hour and a half ago: %q, want web-old", got)
	}
	n := &flowlog.Normalizer{History: h}
	ev := n.FromVPC(flowlog.VPCRecord{Start: start.Add(30 * time.Minute), Src: netip.MustParseAddr("10.244.0.5"), Dst: netip.MustParseAddr("198.51.100.1"),
		SrcPort: 40000, DstPort: 443, Protocol: 6, Action: "ACCEPT"})
	if ev.Resource.Name != "web-old" || ev.Attributes["srcWorkload"] != "ReplicaSet/web-5d8f" {
		t.Errorf("VPC flow of the old pod's time: %s %v", ev.Resource, ev.Attributes)
	}

	// Graceful deletion: db-0 holds the address until its grace period ends.
	grace := int64(60)
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "db-0", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "db-0's deletion", func() error {
		if got := holder(h, "10.244.0.5", time.Now().Add(2*time.Minute)); got != "" {
			return fmt.Errorf("two minutes on, the address is still %q's", got)
		}
		return nil
	})
	if got := holder(h, "10.244.0.5", dbStart.Add(time.Second)); got != ns+"/db-0 " {
		t.Errorf("during its grace period: %q, want db-0", got)
	}
	// Prune forgets web-old (ended) but keeps db-0 (until its grace ends).
	if n := h.Prune(time.Now()); n != 1 {
		t.Errorf("Prune forgot %d spans, want web-old's", n)
	}
	if got := holder(h, "10.244.0.5", start.Add(time.Hour)); got != "" {
		t.Errorf("after Prune, web-old still attributed: %q", got)
	}
}

func TestRunFailsWithoutHistory(t *testing.T) {
	if err := Run(context.Background(), nil, Options{}); err == nil {
		t.Error("Run without a history: nil error")
	}
}
