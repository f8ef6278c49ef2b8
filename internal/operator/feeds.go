package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kordon-dev/kordon/internal/operator/ipfeed"
)

// Feeds adapts ipfeed.Feeds to a FeedServer.
type Feeds struct{ *ipfeed.Feeds }

// Handler serves the feeds from the cache.
func (f Feeds) Handler(_ context.Context, c cache.Cache) (http.Handler, error) {
	return f.Feeds.Handler(c), nil
}

// feedRunnable serves the feeds while the manager runs.
type feedRunnable struct {
	feeds FeedServer
	cache cache.Cache
	addr  string
	log   *slog.Logger
	// ready, when set, receives the listener's address (tests).
	ready func(net.Addr)
}

func (r feedRunnable) Start(ctx context.Context) error {
	h, err := r.feeds.Handler(ctx, r.cache)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("feeds: %w", err)
	}
	if r.ready != nil {
		r.ready(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	r.log.InfoContext(ctx, "serving IP feeds", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("feeds: %w", err)
	}
	return nil
}

// clientOptions keeps Kordon's own reports out of the manager's cache:
// they are read and written directly so that the writer sees what it
// wrote.
func clientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{
		&reportsv1alpha1.Report{}, &reportsv1alpha1.ClusterReport{},
	}}}
}

// cacheOptions keep only what the feeds read of a pod: labels, host
// network, phase and IPs (a cluster's pods can be many and large).
func cacheOptions() cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Transform: slimPod},
	}}
}

func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels,
			ResourceVersion: p.ResourceVersion, DeletionTimestamp: p.DeletionTimestamp},
		Spec:   corev1.PodSpec{HostNetwork: p.Spec.HostNetwork},
		Status: corev1.PodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs},
	}, nil
}
