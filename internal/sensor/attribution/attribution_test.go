package attribution

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/testenv"
)

const cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseCgroupPath(t *testing.T) {
	for _, c := range []struct {
		path                string
		runtime, id, podUID string
	}{
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b1c1a1e_3f0b_4a8e_9d7c_2f1e0a9b8c7d.slice/cri-containerd-" + cid + ".scope", "containerd", cid, "6b1c1a1e-3f0b-4a8e-9d7c-2f1e0a9b8c7d"},
		{"/kubepods.slice/kubepods-pod6b1c1a1e_3f0b_4a8e_9d7c_2f1e0a9b8c7d.slice/crio-" + cid + ".scope", "cri-o", cid, "6b1c1a1e-3f0b-4a8e-9d7c-2f1e0a9b8c7d"},
		{"/kubepods/besteffort/pod6b1c1a1e-3f0b-4a8e-9d7c-2f1e0a9b8c7d/" + cid, "", cid, "6b1c1a1e-3f0b-4a8e-9d7c-2f1e0a9b8c7d"},
		{"/system.slice/docker-" + cid + ".scope", "docker", cid, ""},
		{"/docker/" + cid, "docker", cid, ""},
		{"/user.slice/user-0.slice/session-1.scope", "", "", ""},
		{"/", "", "", ""},
	} {
		got := ParseCgroupPath(c.path)
		if got.Runtime != c.runtime || got.ContainerID != c.id || got.PodUID != c.podUID {
			t.Errorf("%s: got %+v, want runtime %q id %q pod %q", c.path, got, c.runtime, c.id, c.podUID)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	p, err := parseProcCgroup(strings.NewReader("12:pids:/x\n1:name=systemd:/y\n0::/kordon/test\n"))
	if err != nil || p != "/kordon/test" {
		t.Errorf("got %q, %v", p, err)
	}
	if _, err := parseProcCgroup(strings.NewReader("1:cpu:/x\n")); err == nil {
		t.Error("a v1-only file gave a path")
	}
}

// TestResolverRealCgroup moves a real process into a fresh cgroup v2 and
// resolves the cgroup's id, on a host without Kubernetes.
func TestResolverRealCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root")
	}
	root, err := Cgroup2Mount("/proc")
	if err != nil {
		t.Skip("no cgroup2 mount: ", err)
	}
	dir := filepath.Join(root, fmt.Sprintf("kordon-attr-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.Remove(dir)
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "/" + filepath.Base(dir)
	if w := r.Resolve(context.Background(), st.Ino, uint32(cmd.Process.Pid)); w == nil || w.Cgroup != want {
		t.Errorf("by pid: got %+v, want cgroup %s", w, want)
	}
	// Without a process (as for TCP events): found by walking the mount.
	r2, _ := NewResolver(Options{})
	if w := r2.Resolve(context.Background(), st.Ino, 0); w == nil || w.Cgroup != want {
		t.Errorf("by walk: got %+v, want cgroup %s", w, want)
	}
	if w := r2.Resolve(context.Background(), 1<<62, 0); w != nil {
		t.Errorf("an unknown cgroup resolved to %+v", w)
	}
}

func TestOwner(t *testing.T) {
	ctrl := true
	pod := func(kind, name string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: labels}}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &ctrl}}
		}
		return p
	}
	for _, c := range []struct {
		pod        *corev1.Pod
		kind, name string
	}{
		{pod("ReplicaSet", "web-7d9f8c", map[string]string{"pod-template-hash": "7d9f8c"}), "Deployment", "web"},
		{pod("ReplicaSet", "plain-rs", nil), "ReplicaSet", "plain-rs"},
		{pod("Job", "backup-28473920", nil), "CronJob", "backup"},
		{pod("StatefulSet", "db", nil), "StatefulSet", "db"},
		{pod("", "", nil), "Pod", "p"},
	} {
		if k, n := Owner(c.pod); k != c.kind || n != c.name {
			t.Errorf("got %s/%s, want %s/%s", k, n, c.kind, c.name)
		}
	}
}

// TestAPIPods looks a container up in pods served by a real API server.
func TestAPIPods(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	ns := env.CreateNamespace(t, "sensor-attr")
	ctrl := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5c6b7d-x1", Namespace: ns, Labels: map[string]string{"pod-template-hash": "5c6b7d"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5c6b7d", UID: "11111111-2222-3333-4444-555555555555", Controller: &ctrl}}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
	created, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "docker.io/library/nginx:1.27",
		ImageID: "docker.io/library/nginx@sha256:" + strings.Repeat("ab", 32), ContainerID: "containerd://" + cid}}
	if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	src := NewAPIPods(env.Client, "node-a")
	w := src.Lookup(ctx, string(created.UID), cid)
	if w == nil {
		t.Fatalf("container not found (list error %v)", src.Err())
	}
	if w.Namespace != ns || w.Pod != pod.Name || w.Container != "app" || w.Owner != "web" || w.OwnerKind != "Deployment" ||
		w.ImageDigest != "sha256:"+strings.Repeat("ab", 32) || w.Image != "nginx:1.27" {
		t.Errorf("workload %+v", w)
	}
	if other := NewAPIPods(env.Client, "node-b"); other.Lookup(ctx, "", cid) != nil {
		t.Error("a pod of another node was found")
	}
}
