package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

type admissionServeFlags struct {
	configFile      string
	ruleDirs        []string
	addr            string
	certFile        string
	keyFile         string
	kubeconfig      string
	context         string
	namespace       string
	reloadInterval  time.Duration
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	checkConfig     bool
}

func newAdmissionServeCmd() *cobra.Command {
	f := &admissionServeFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the validating admission webhook over HTTPS",
		Long: `serve answers admission.k8s.io/v1 AdmissionReviews on POST /validate, with
/healthz, /readyz (ready once the NetworkPolicy and Namespace caches have
synced) and Prometheus /metrics on the same HTTPS port. Every decision is
logged as one JSON line on standard error. The configuration is validated at
start-up; --check-config validates it and exits. The serving certificate is
reloaded when its files change. On SIGTERM the server reports not ready,
waits --drain-delay, then finishes the requests in flight.`,
		Example: `  kordon admission serve --config admission.yaml --cert-file tls.crt --key-file tls.key
  kordon admission serve --config admission.yaml --check-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAdmissionServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "configuration file (required; see docs/admission.md)")
	fl.StringArrayVar(&f.ruleDirs, "rules", nil, "folder of custom rule files to add to the catalogue (repeatable)")
	fl.StringVar(&f.addr, "addr", ":8443", "HTTPS listen address")
	fl.StringVar(&f.certFile, "cert-file", "/etc/kordon/tls/tls.crt", "serving certificate (PEM)")
	fl.StringVar(&f.keyFile, "key-file", "/etc/kordon/tls/tls.key", "serving key (PEM)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for the caches (default: in-cluster, then $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context")
	fl.StringVar(&f.namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the webhook's own namespace, never judged (default $POD_NAMESPACE)")
	fl.DurationVar(&f.reloadInterval, "cert-reload-interval", 10*time.Second, "how often to check the certificate files for changes")
	fl.DurationVar(&f.drainDelay, "drain-delay", 5*time.Second, "on shutdown, how long to report not ready before closing the listener")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on shutdown, how long requests in flight may take to finish")
	fl.BoolVar(&f.checkConfig, "check-config", false, "validate the configuration against the catalogue and exit")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// loadAdmissionCatalogue returns the built-in rules plus custom folders.
func loadAdmissionCatalogue(dirs []string) ([]*rules.Rule, error) {
	all, err := rules.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in rules: %w", err)
	}
	for _, d := range dirs {
		custom, err := rules.LoadDir(d)
		if err != nil {
			return nil, usageErr(err)
		}
		if all, err = rules.Merge(all, custom); err != nil {
			return nil, usageErr(err)
		}
	}
	return all, nil
}

func runAdmissionServe(cmd *cobra.Command, f *admissionServeFlags) error {
	cfg, err := config.Load(f.configFile)
	if err != nil {
		return usageErr(err)
	}
	catalogue, err := loadAdmissionCatalogue(f.ruleDirs)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
	if f.checkConfig {
		// An empty cache stands in for the cluster's NetworkPolicies.
		empty := networkinglisters.NewNetworkPolicyLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))
		_, skipped, err := admission.New(admission.Options{Config: cfg, Catalogue: catalogue, NetworkPolicies: empty})
		if err != nil {
			return usageErr(fmt.Errorf("admission config %s: %w", f.configFile, err))
		}
		for _, s := range skipped {
			fmt.Fprintln(cmd.OutOrStdout(), "note:", s)
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintln(cmd.OutOrStdout(), "warning:", w)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid\n", f.configFile)
		return nil
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: f.kubeconfig, Context: f.context, InClusterFirst: true})
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cc.REST)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	caches := admission.StartCaches(ctx, client, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, skipped, err := admission.New(admission.Options{
		Config:          cfg,
		Catalogue:       catalogue,
		OwnNamespace:    f.namespace,
		NetworkPolicies: caches.NetworkPolicies,
		Namespaces:      caches.Namespaces,
		NamespaceGetter: caches.GetNamespace,
		Logger:          log,
		Metrics:         admission.NewMetrics(reg),
	})
	if err != nil {
		return usageErr(fmt.Errorf("admission config %s: %w", f.configFile, err))
	}
	for _, s := range skipped {
		log.Warn("rule left out", "reason", s)
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration not checked", "warning", w.String())
	}
	reloader, err := certs.NewReloader(f.certFile, f.keyFile)
	if err != nil {
		return err
	}
	go reloader.Run(ctx, f.reloadInterval,
		func() { log.Info("serving certificate reloaded", "file", f.certFile) },
		func(err error) { log.Warn("serving certificate not reloaded", "error", err) })
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.addr, err)
	}
	return admission.Serve(ctx, ln, admission.ServerOptions{
		Webhook:         w,
		GetCertificate:  reloader.GetCertificate,
		Gatherer:        reg,
		Ready:           caches.Synced,
		DrainDelay:      f.drainDelay,
		ShutdownTimeout: f.shutdownTimeout,
		Logger:          log,
	})
}
