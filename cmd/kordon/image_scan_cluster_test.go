package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestImageScanCluster runs kordon image scan --cluster against a real
// API server whose pods report (in their status, as the kubelet would)
// images pushed to a registry started by the test: each image is pulled
// once, findings name the workloads, and a second run reads the
// inventory cache.
func TestImageScanCluster(t *testing.T) {
	env := testenv.Start(t)
	ns := env.CreateNamespace(t, "imgscan")
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	f := imagetest.File
	img := imagetest.Image(t, imagetest.Layer(t,
		f("etc/os-release", imagetest.OSRelease("debian", "12")),
		f("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"})),
	))
	repo := strings.TrimPrefix(srv.URL, "http://") + "/team/web"
	tag, err := name.NewTag(repo+":1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	imageID := "docker-pullable://" + repo + "@" + digest.String()
	_, db := imageFixture(t)

	ctx := context.Background()
	ctrl := true
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f-abcde", Labels: map[string]string{"pod-template-hash": "7d9f"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f", UID: types.UID("11111111-1111-1111-1111-111111111111"), Controller: &ctrl}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f-fghij", Labels: map[string]string{"pod-template-hash": "7d9f"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f", UID: types.UID("11111111-1111-1111-1111-111111111111"), Controller: &ctrl}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "debug"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending"}},
	}
	for _, p := range pods {
		p.Namespace = ns
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: repo + ":1.0"}}
		created, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name == "pending" {
			continue
		}
		created.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: repo + ":1.0", ImageID: imageID, Ready: true}}
		if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := env.Kubeconfig(t)
	cache := t.TempDir()
	args := []string{"image", "scan", "--cluster", "--kubeconfig", kubeconfig, "-n", ns, "--db", db, "--inventory-cache", cache, "-o", "json"}
	for run1, wantCached := range []bool{false, true} {
		out, stderr, code := run(t, "", args...)
		if code != exitFindings {
			t.Fatalf("run %d: exit %d: %s\n%s", run1, code, stderr, out)
		}
		var doc struct {
			Images []struct {
				Ref       string
				Cached    bool
				Packages  int
				Workloads []struct{ Kind, Name string }
			}
			Findings []struct {
				ID        string
				Image     string
				Workloads []string
			}
			Warnings []string
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Images) != 1 || doc.Images[0].Cached != wantCached || doc.Images[0].Packages != 1 || len(doc.Images[0].Workloads) != 2 {
			t.Errorf("run %d: images %+v", run1, doc.Images)
		}
		wantWorkloads := []string{"Deployment " + ns + "/web", "Pod " + ns + "/debug"}
		if len(doc.Findings) != 1 || doc.Findings[0].ID != "DSA-T-1" || !slices.Equal(doc.Findings[0].Workloads, wantWorkloads) {
			t.Errorf("run %d: findings %+v", run1, doc.Findings)
		}
		if !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, "pending") }) {
			t.Errorf("run %d: no warning for the pending pod: %v", run1, doc.Warnings)
		}
	}
	// The scan is recorded for the admission webhook under the digest,
	// every vulnerability included (exceptions are the webhook's).
	rec, err := vulnindex.NewReader(cache, 0).Get(digest.String())
	if err != nil {
		t.Fatalf("scan record for the admission webhook: %v", err)
	}
	if rec.Ref != repo+"@"+digest.String() || len(rec.Findings) != 1 || rec.Findings[0].ID != "DSA-T-1" || !rec.Complete() {
		t.Errorf("scan record: got %+v", rec)
	}
	// An exception for one workload leaves the other.
	exc := writeFile(t, t.TempDir(), "exc.yaml", "exceptions:\n  - rule: KOR-IMG-VULN\n    kind: Pod\n    name: debug\n    reason: debug pod, deleted daily\n")
	out, _, _ := run(t, "", append(args, "--exceptions", exc)...)
	if !strings.Contains(out, `"Deployment `+ns+`/web"`) || strings.Contains(out, `"Pod `+ns+`/debug"`) {
		t.Errorf("exception for Pod debug:\n%s", out)
	}
}
