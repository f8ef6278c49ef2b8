package operator_test

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagecluster "github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/source"
	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/imagescan"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
)

const osvOpenSSL = `{"id":"DSA-T-1","modified":"2024-01-01T00:00:00Z","summary":"openssl: a high one",
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`

const osvZlib = `{"id":"DSA-T-2","modified":"2024-02-01T00:00:00Z","summary":"zlib: a new one",
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
"affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.3-1"}]}]}]}`

// TestImageRescanOnDBChange runs image rescans against a real API server
// whose pod reports (as a kubelet would) an image pushed to a registry
// started in the test: the first cycle pulls and matches; an unchanged
// database and image set skip; a database update re-matches from the
// inventory cache without pulling a layer and finds the new vulnerability.
func TestImageRescanOnDBChange(t *testing.T) {
	e, c := env(t)
	ctx := t.Context()
	f := imagetest.File
	img := imagetest.Image(t, imagetest.Layer(t,
		f("etc/os-release", imagetest.OSRelease("debian", "12")),
		f("var/lib/dpkg/status", imagetest.DpkgStatus(
			imagetest.Deb{Name: "openssl", Version: "3.0.11-1~deb12u2"},
			imagetest.Deb{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"})),
	))
	layerDigests := map[string]bool{}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		d, _ := l.Digest()
		layerDigests[d.String()] = true
	}
	var blobGets atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(countBlobs(reg, layerDigests, &blobGets))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/team/web"
	tag, err := name.NewTag(repo+":1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	ns := e.CreateNamespace(t, "images")
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: repo + ":1.0"}}}}
	p, err = e.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: repo + ":1.0", ImageID: "docker-pullable://" + repo + "@" + digest.String()}}
	if _, err := e.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dbDir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Join(dbDir, "Debian"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dbDir, "Debian", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("DSA-T-1.json", osvOpenSSL)
	cat, _ := checks(t)
	st := openStore(t)
	loop := &operator.ImageLoop{
		Rescanner: &imagescan.Rescanner{Client: e.Client, DBDir: dbDir, Cache: imagecluster.Cache{Dir: t.TempDir()}, Catalogue: cat,
			Source: source.Options{Insecure: true}},
		Sink: sink.Store{Store: st}, Reports: &reports.Writer{Client: c, Scope: "images"},
	}
	ids := func(res imagescan.Result) []string {
		var out []string
		for _, f := range res.Findings {
			if f.Resource.Namespace == ns {
				out = append(out, strings.Fields(strings.TrimPrefix(f.Message, "image "+repo+"@"+digest.String()+": "))[0])
			}
		}
		return out
	}
	res, err := loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Cached != 0 || len(ids(res)) != 1 {
		t.Fatalf("first cycle: %+v, findings %v", res, ids(res))
	}
	pulled := blobGets.Load()
	if pulled == 0 {
		t.Fatal("the first cycle pulled no layer")
	}
	if res, err = loop.Cycle(ctx); err != nil || !res.Skipped {
		t.Fatalf("unchanged cycle: %+v, %v; want skipped", res, err)
	}
	// kordon db update brings a new record.
	write("DSA-T-2.json", osvZlib)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(filepath.Join(dbDir, "Debian", "DSA-T-2.json"), future, future)
	res, err = loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Cached != 1 || len(ids(res)) != 2 {
		t.Fatalf("after the database update: %+v, findings %v; want 2 findings from the cache", res, ids(res))
	}
	if blobGets.Load() != pulled {
		t.Errorf("the rescan pulled %d layers again; the inventory cache should have answered", blobGets.Load()-pulled)
	}
}
