package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/flowlog/podwatch"
	"github.com/kordon-dev/kordon/internal/hubble"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/store"
)

// flowSourceFlags are kordon server's live flow sources: Hubble's
// observer API, and the pod watch that keeps the IP → pod history current.
type flowSourceFlags struct {
	kubeconfig       string
	kubeContext      string
	inCluster        bool
	hubble           string
	hubbleCA         string
	hubbleCert       string
	hubbleKey        string
	hubbleServerName string
	hubblePlaintext  bool
}

func addFlowSourceFlags(fl *pflag.FlagSet, f *flowSourceFlags) {
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "watch the pods of the cluster of this kubeconfig, so that flows are attributed to the pod that held an address at the flow's time (needs list and watch on pods)")
	fl.StringVar(&f.kubeContext, "context", "", "with --kubeconfig: the kubeconfig context (default: the current one)")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "watch the pods of the cluster the server runs in, with its service account")
	fl.StringVar(&f.hubble, "hubble", "", "follow the flows of Hubble's observer gRPC API at this address (Hubble Relay: hubble-relay.kube-system.svc:443; an agent: unix:///var/run/cilium/hubble.sock)")
	fl.StringVar(&f.hubbleCA, "hubble-ca-file", "", "CA certificates (PEM) that sign Hubble's certificate (default: the system's)")
	fl.StringVar(&f.hubbleCert, "hubble-cert-file", "", "client certificate (PEM) for Hubble Relay's mutual TLS")
	fl.StringVar(&f.hubbleKey, "hubble-key-file", "", "client key (PEM) for --hubble-cert-file")
	fl.StringVar(&f.hubbleServerName, "hubble-server-name", "", "name to check in Hubble's certificate, such as *.hubble-relay.cilium.io (default: the address's host)")
	fl.BoolVar(&f.hubblePlaintext, "hubble-plaintext", false, "reach Hubble without TLS (a local socket, or Relay with TLS off)")
}

// startFlowSources starts the live flow sources that were asked for;
// they store through ingest (enrichment and alerts included) until ctx
// ends. The returned function waits for them to finish.
func startFlowSources(ctx context.Context, f *flowSourceFlags, norm *flowlog.Normalizer, ingest func(context.Context, []store.Record) error,
	keep time.Duration, register func(...prometheus.Collector) error, log *slog.Logger) (wait func(), err error) {
	waitPods, err := startPodWatch(ctx, f, norm.History, keep, log)
	if err != nil {
		return nil, err
	}
	waitHubble, err := startHubble(ctx, f, norm, ingest, register, log)
	if err != nil {
		return nil, err
	}
	return func() { waitHubble(); waitPods() }, nil
}

// startPodWatch watches the pods of the cluster named by --kubeconfig or
// --in-cluster, feeding the IP → pod history.
func startPodWatch(ctx context.Context, f *flowSourceFlags, h *flowlog.History, keep time.Duration, log *slog.Logger) (wait func(), err error) {
	var cfg *rest.Config
	switch {
	case f.inCluster && (f.kubeconfig != "" || f.kubeContext != ""):
		return nil, usageErr(errors.New("--in-cluster with --kubeconfig or --context: give one or the other"))
	case f.inCluster:
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, usageErr(fmt.Errorf("--in-cluster: %w", err))
		}
	case f.kubeconfig != "":
		cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: f.kubeconfig, Context: f.kubeContext})
		if err != nil {
			return nil, usageErr(fmt.Errorf("--kubeconfig: %w", err))
		}
		cfg = cc.REST
	case f.kubeContext != "":
		return nil, usageErr(errors.New("--context without --kubeconfig"))
	default:
		return func() {}, nil
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, usageErr(fmt.Errorf("pod watch: %w", err))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		log.Info("watching pods for flow attribution", "server", cfg.Host)
		if err := podwatch.Run(ctx, client, podwatch.Options{History: h, Keep: keep, Log: log}); err != nil {
			log.Error("pod watch: stopped", "err", err)
		}
	}()
	return func() { <-done }, nil
}

// startHubble follows Hubble's flows when --hubble is given.
func startHubble(ctx context.Context, f *flowSourceFlags, norm *flowlog.Normalizer, ingest func(context.Context, []store.Record) error,
	register func(...prometheus.Collector) error, log *slog.Logger) (wait func(), err error) {
	if f.hubble == "" {
		if f.hubbleCA != "" || f.hubbleCert != "" || f.hubbleKey != "" || f.hubbleServerName != "" || f.hubblePlaintext {
			return nil, usageErr(errors.New("--hubble-* options without --hubble ADDR"))
		}
		return func() {}, nil
	}
	creds, err := hubble.TLSOptions{Plaintext: f.hubblePlaintext, CAFile: f.hubbleCA, CertFile: f.hubbleCert, KeyFile: f.hubbleKey,
		ServerName: f.hubbleServerName}.Credentials()
	if err != nil {
		return nil, usageErr(fmt.Errorf("--hubble: %w", err))
	}
	fol, err := hubble.New(hubble.Options{Addr: f.hubble, Credentials: creds, Normalizer: norm, Append: ingest, Log: log})
	if err != nil {
		return nil, usageErr(fmt.Errorf("--hubble: %w", err))
	}
	if err := register(fol.Collector()); err != nil {
		return nil, fmt.Errorf("hubble metrics: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		log.Info("following Hubble", "server", f.hubble)
		if err := fol.Run(ctx); err != nil {
			log.Error("hubble: stopped", "err", err)
		}
		log.Info("hubble: stopped", "stats", fol.Stats())
	}()
	return func() { <-done }, nil
}
