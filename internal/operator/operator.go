package operator

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/operator/trigger"
)

// Config configures Run.
type Config struct {
	RESTConfig *rest.Config
	// Posture is the posture loop; nil runs none. Its Reports writer, when
	// set, gets its client from the manager.
	Posture *Posture
	// Debounce is the quiet period after a change before a posture scan;
	// Interval the period of scheduled scans (0: only on change).
	Debounce, Interval time.Duration
	// Drift is the drift loop; nil runs none.
	Drift *DriftLoop
	// Images is the image rescan loop; nil runs none.
	Images *ImageLoop
	// Feeds, when set, is served on FeedAddr with the manager's pod cache.
	Feeds    FeedServer
	FeedAddr string
	// OnFeedListen, when set, is called with the feed server's address
	// once it listens (FeedAddr may name port 0).
	OnFeedListen func(net.Addr)
	// MetricsAddr is where /metrics is served ("0" disables); HealthAddr
	// serves /healthz and /readyz.
	MetricsAddr, HealthAddr string
	// LeaderElection makes only one replica run the loops, with a Lease
	// named LeaderElectionID in LeaderElectionNamespace.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	Metrics                 *Metrics
	Logger                  *slog.Logger
}

// FeedServer serves feeds from a pod cache.
type FeedServer interface {
	// Handler returns the HTTP handler reading pods from the cache.
	Handler(ctx context.Context, c cache.Cache) (http.Handler, error)
}

// Scheme returns the scheme the operator's clients use: the built-in
// kinds and openreports.io v1alpha1.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := reportsv1alpha1.Install(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run starts the manager and the configured loops and blocks until ctx
// ends (SIGTERM) or the manager fails.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	metricsAddr := cfg.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	healthAddr := cfg.HealthAddr
	if healthAddr == "" {
		healthAddr = "0"
	}
	mgr, err := manager.New(cfg.RESTConfig, manager.Options{
		Scheme:                  scheme,
		Logger:                  logr.FromSlogHandler(log.Handler()),
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  healthAddr,
		LeaderElection:          cfg.LeaderElection,
		LeaderElectionID:        cfg.LeaderElectionID,
		LeaderElectionNamespace: cfg.LeaderElectionNamespace,
		// Kordon's own reports are written directly, never cached.
		Client: clientOptions(),
		Cache:  cacheOptions(),
	})
	if err != nil {
		return fmt.Errorf("operator manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if p := cfg.Posture; p != nil {
		if p.Reports != nil && p.Reports.Client == nil {
			p.Reports.Client = mgr.GetClient()
		}
		if p.Metrics == nil {
			p.Metrics = cfg.Metrics
		}
		loop := trigger.New(cfg.Debounce, cfg.Interval)
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			if err := watchChanges(ctx, mgr, loop, cfg.Metrics, log); err != nil {
				return err
			}
			err := loop.Run(ctx, func(ctx context.Context) error { _, err := p.Cycle(ctx); return err },
				func(err error) { log.ErrorContext(ctx, "posture cycle failed", "err", err) })
			if ctx.Err() != nil {
				return nil
			}
			return err
		})); err != nil {
			return err
		}
	}
	if d := cfg.Drift; d != nil {
		if d.Reports != nil && d.Reports.Client == nil {
			d.Reports.Client = mgr.GetClient()
		}
		if d.Metrics == nil {
			d.Metrics = cfg.Metrics
		}
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			err := trigger.New(0, d.Interval).Run(ctx, func(ctx context.Context) error { _, err := d.Cycle(ctx); return err },
				func(err error) { log.ErrorContext(ctx, "drift cycle failed", "err", err) })
			if ctx.Err() != nil {
				return nil
			}
			return err
		})); err != nil {
			return err
		}
	}
	if il := cfg.Images; il != nil {
		if il.Reports != nil && il.Reports.Client == nil {
			il.Reports.Client = mgr.GetClient()
		}
		if il.Metrics == nil {
			il.Metrics = cfg.Metrics
		}
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			err := trigger.New(0, il.Interval).Run(ctx, func(ctx context.Context) error { _, err := il.Cycle(ctx); return err },
				func(err error) { log.ErrorContext(ctx, "image rescan failed", "err", err) })
			if ctx.Err() != nil {
				return nil
			}
			return err
		})); err != nil {
			return err
		}
	}
	if cfg.Feeds != nil {
		if err := mgr.Add(feedRunnable{feeds: cfg.Feeds, cache: mgr.GetCache(), addr: cfg.FeedAddr, log: log, ready: cfg.OnFeedListen}); err != nil {
			return err
		}
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	return nil
}

// watchChanges pokes the loop on changes of the kinds a posture scan
// reads. The watches are metadata-only (PartialObjectMetadata), so the
// cache holds names and labels, not whole objects. Status-only updates
// (same generation, labels, annotations and owners) are ignored.
func watchChanges(ctx context.Context, mgr manager.Manager, loop *trigger.Loop, m *Metrics, log *slog.Logger) error {
	poke := func() {
		if m != nil {
			m.WatchTriggers.Inc()
		}
		loop.Poke()
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { poke() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			n, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && !metadataChanged(o, n) {
				return
			}
			poke()
		},
		DeleteFunc: func(any) { poke() },
	}
	for _, gk := range k8s.ClusterKinds() {
		mapping, err := mgr.GetRESTMapper().RESTMapping(gk)
		if err != nil {
			log.WarnContext(ctx, "kind not watched: not served", "kind", gk.String(), "err", err)
			continue
		}
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(mapping.GroupVersionKind)
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			log.WarnContext(ctx, "kind not watched", "kind", gk.String(), "err", err)
			continue
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watch %s: %w", gk, err)
		}
	}
	return nil
}

func metadataChanged(o, n *metav1.PartialObjectMetadata) bool {
	return o.Generation != n.Generation || !mapsEqual(o.Labels, n.Labels) ||
		!mapsEqual(o.Annotations, n.Annotations) || len(o.OwnerReferences) != len(n.OwnerReferences) ||
		(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
