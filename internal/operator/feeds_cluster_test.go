package operator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/ipfeed"
)

// runningPod creates a pod and sets its status as a kubelet would (no
// kubelet runs in the test control plane).
func runningPod(t *testing.T, create func(*corev1.Pod) (*corev1.Pod, error), update func(*corev1.Pod) (*corev1.Pod, error), ns, name string, lbl map[string]string, ips ...string) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
	p, err := create(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	for _, ip := range ips {
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(ips) > 0 {
		p.Status.PodIP = ips[0]
	}
	if _, err := update(p); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFeedsFollowPods serves label-selected pod IPs from the operator's
// cache of a real API server, as pods come, change label, finish and go.
func TestFeedsFollowPods(t *testing.T) {
	e, _ := env(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ns := e.CreateNamespace(t, "feeds")
	other := e.CreateNamespace(t, "feeds-other")
	pods := func(ns string) (func(*corev1.Pod) (*corev1.Pod, error), func(*corev1.Pod) (*corev1.Pod, error)) {
		c := e.Client.CoreV1().Pods(ns)
		return func(p *corev1.Pod) (*corev1.Pod, error) { return c.Create(ctx, p, metav1.CreateOptions{}) },
			func(p *corev1.Pod) (*corev1.Pod, error) { return c.UpdateStatus(ctx, p, metav1.UpdateOptions{}) }
	}
	cr, up := pods(ns)
	runningPod(t, cr, up, ns, "web-1", map[string]string{"app": "web", "tier": "front"}, "10.0.0.11", "fd00::11")
	runningPod(t, cr, up, ns, "web-2", map[string]string{"app": "web", "tier": "front"}, "10.0.0.12")
	runningPod(t, cr, up, ns, "db-1", map[string]string{"app": "db"}, "10.0.0.21")
	ocr, oup := pods(other)
	runningPod(t, ocr, oup, other, "web-x", map[string]string{"app": "web", "tier": "front"}, "10.9.0.1")

	feeds, err := ipfeed.New([]ipfeed.Group{
		{Name: "web", Namespaces: []string{ns}, Selector: "app=web,tier=front"},
		{Name: "all-web", Selector: "app=web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- operator.Run(ctx, operator.Config{RESTConfig: e.Config, Feeds: operator.Feeds{Feeds: feeds},
			FeedAddr: "127.0.0.1:0", OnFeedListen: func(a net.Addr) { addr <- a }})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	feed := func(name string) string { _, body := get(t, base+"/feeds/"+name); return body }
	eventually(t, "web feed", func() (bool, string) {
		got := feed("web")
		return got == "10.0.0.11\n10.0.0.12\nfd00::11\n", got
	})
	if got := feed("all-web"); got != "10.0.0.11\n10.0.0.12\n10.9.0.1\nfd00::11\n" {
		t.Errorf("all-web feed %q", got)
	}
	code, body := get(t, base+"/feeds/web.json")
	var js struct {
		Name     string   `json:"name"`
		Selector string   `json:"selector"`
		IPs      []string `json:"ips"`
	}
	if err := json.Unmarshal([]byte(body), &js); code != 200 || err != nil || js.Selector != "app=web,tier=front" || len(js.IPs) != 3 {
		t.Errorf("web.json: %d %s (%v)", code, body, err)
	}
	if code, _ := get(t, base+"/feeds/nope"); code != http.StatusNotFound {
		t.Errorf("unknown feed: status %d, want 404", code)
	}

	// web-1 finishes, web-2 loses its label, web-3 comes: the list follows.
	c := e.Client.CoreV1().Pods(ns)
	p, err := c.Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if _, err := c.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err = c.Get(ctx, "web-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["tier"] = "back"
	if _, err := c.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPod(t, cr, up, ns, "web-3", map[string]string{"app": "web", "tier": "front"}, "10.0.0.13")
	eventually(t, "web feed follows pods", func() (bool, string) {
		got := feed("web")
		return got == "10.0.0.13\n", got
	})
	if err := c.Delete(ctx, "web-3", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted pod leaves the feed", func() (bool, string) {
		got := feed("web")
		return got == "", got
	})
	_, list := get(t, base+"/feeds")
	if !strings.Contains(list, `"all-web"`) {
		t.Errorf("feed list %s", list)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(fmt.Errorf("Run: %w", err))
	}
}

func TestFeedConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		groups []ipfeed.Group
		want   string
	}{
		{[]ipfeed.Group{{Name: "a/b", Selector: "x=y"}}, "name"},
		{[]ipfeed.Group{{Name: "a", Selector: "x=y"}, {Name: "a", Selector: "z"}}, "twice"},
		{[]ipfeed.Group{{Name: "a", Selector: "x in (("}}, "selector"},
	} {
		_, err := ipfeed.New(tc.groups)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %s", tc.groups, err, tc.want)
		}
	}
}
