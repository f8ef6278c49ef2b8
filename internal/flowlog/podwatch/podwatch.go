// Package podwatch keeps a flowlog.History current with a live cluster's
// pods: it watches them (a client-go informer holding only the fields it
// needs) and records, for each pod address, which pod held it from when
// (status.startTime, or creation) until when (its deletion, or the end of
// its run), so that flows are attributed to the pod that held an address
// at the flow's time even after the address has passed to another pod.
package podwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kordon-dev/kordon/internal/flowlog"
)

// Options configure Run.
type Options struct {
	// History receives the pods' addresses.
	History *flowlog.History
	// Keep is how long an address's past holders are remembered after
	// they gave it up (flows may arrive late); 0 keeps them for ever.
	Keep time.Duration
	// Log receives what the watch does; nil discards it.
	Log *slog.Logger
	// Synced, when set, is called once the first list of pods is in
	// the history.
	Synced func()
	// Now returns the current time (tests fix it).
	Now func() time.Time
}

// watcher turns pod notifications into history spans.
type watcher struct {
	o Options
}

// Run watches the pods of every namespace until ctx ends, then returns
// nil. The client needs list and watch on pods. It returns an error when
// the first list does not arrive (no permission, no API server) within
// the context.
func Run(ctx context.Context, client kubernetes.Interface, o Options) error {
	if o.History == nil {
		return errors.New("podwatch: no history")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &watcher{o: o}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(slim))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.seen(obj, false) },
		UpdateFunc: func(_, obj any) { w.seen(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			w.seen(obj, true)
		},
	}); err != nil {
		return fmt.Errorf("podwatch: %w", err)
	}
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		o.Log.Warn("pod watch: retrying", "err", err)
	}); err != nil {
		return fmt.Errorf("podwatch: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return nil
		}
		return errors.New("podwatch: the pods were not listed")
	}
	o.Log.Info("pod watch: synced", "addresses", o.History.Len())
	if o.Synced != nil {
		o.Synced()
	}
	var prune <-chan time.Time
	if o.Keep > 0 {
		t := time.NewTicker(min(o.Keep, time.Hour))
		defer t.Stop()
		prune = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune:
			if n := o.History.Prune(o.Now().Add(-o.Keep)); n > 0 {
				o.Log.Info("pod watch: forgot old address holders", "spans", n)
			}
		}
	}
}

// seen records what obj (a pod) says about its addresses; deleted is set
// when the pod is gone.
func (w *watcher) seen(obj any, deleted bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	pod := flowlog.Pod{Namespace: p.Namespace, Name: p.Name}
	if ref := metav1.GetControllerOf(p); ref != nil {
		pod.Workload = ref.Kind + "/" + ref.Name
	}
	from := p.CreationTimestamp.Time
	if p.Status.StartTime != nil {
		from = p.Status.StartTime.Time
	}
	var to time.Time
	switch {
	case p.DeletionTimestamp != nil:
		to = p.DeletionTimestamp.Time
		if deleted && w.o.Now().Before(to) {
			to = w.o.Now() // gone before its grace period ended
		}
	case deleted, p.Status.Phase == corev1.PodSucceeded, p.Status.Phase == corev1.PodFailed:
		to = w.o.Now() // its address is free from about now
	}
	if !to.IsZero() && !to.After(from) {
		to = from.Add(time.Nanosecond)
	}
	for _, s := range addresses(p) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			w.o.Log.Warn("pod watch: pod IP left out", "pod", p.Namespace+"/"+p.Name, "ip", s, "err", err)
			continue
		}
		w.o.History.Add(ip, pod, from.UTC(), to.UTC())
	}
}

func addresses(p *corev1.Pod) []string {
	out := make([]string, 0, 2)
	if p.Status.PodIP != "" {
		out = append(out, p.Status.PodIP)
	}
	for _, a := range p.Status.PodIPs {
		if a.IP != "" && a.IP != p.Status.PodIP {
			out = append(out, a.IP)
		}
	}
	return out
}

// slim keeps of a pod only what the history needs, so that the informer's
// cache holds a few hundred bytes a pod rather than whole specs.
func slim(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
			CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs, StartTime: p.Status.StartTime},
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return out, nil
}
