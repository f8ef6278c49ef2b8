package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
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
	opsAddr         string
	clientCA        string
	clientCNs       []string
	tlsMinVersion   string
	maxConcurrent   int
	maxBytes        int64
	logAllowedEvery int
}

func newAdmissionServeCmd() *cobra.Command {
	f := &admissionServeFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the validating admission webhook over HTTPS",
		Long: `serve answers admission.k8s.io/v1 AdmissionReviews on POST /validate over
HTTPS (TLS 1.3 unless --tls-min-version 1.2), and /healthz, /readyz (ready
once the NetworkPolicy and Namespace caches have synced) and Prometheus
/metrics over plain HTTP on --ops-addr. With --client-ca only clients with a
certificate of that CA (and, with --client-cn, one of those common names)
are served: configure the API server to present one (docs/admission.md).
Denials, errors and violations are logged as JSON lines on standard error
(admitted requests without violations at debug; see --log-allowed-every). The configuration is validated at
start-up; --check-config validates it and exits. The serving certificate and
the client CA are reloaded when their files change. On SIGTERM the server reports not ready,
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
	fl.DurationVar(&f.reloadInterval, "cert-reload-interval", 10*time.Second, "how often to check the serving certificate and client CA files for changes")
	fl.DurationVar(&f.drainDelay, "drain-delay", 5*time.Second, "on shutdown, how long to report not ready before closing the listener")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on shutdown, how long requests in flight may take to finish")
	fl.BoolVar(&f.checkConfig, "check-config", false, "validate the configuration against the catalogue and exit")
	fl.StringVar(&f.opsAddr, "ops-addr", ":8081", "plain-HTTP listen address of /healthz, /readyz and /metrics (\"\" serves none)")
	fl.StringVar(&f.clientCA, "client-ca", "", "CA file (PEM) of the client certificate the API server presents; when set, clients without one are refused")
	fl.StringSliceVar(&f.clientCNs, "client-cn", nil, "common names a client certificate may have (repeatable; default: any of --client-ca)")
	fl.StringVar(&f.tlsMinVersion, "tls-min-version", "1.3", "lowest TLS version accepted: 1.3, or 1.2 for old API servers")
	fl.IntVar(&f.maxConcurrent, "max-concurrent-reviews", 0, "reviews read and evaluated at once; more wait up to 1s, then get HTTP 429 (default 2 x CPUs, at least 4)")
	fl.Int64Var(&f.maxBytes, "max-inflight-bytes", 0, fmt.Sprintf("bytes of review bodies held at once (default %d, two of the largest reviews)", 2*admission.MaxReviewBytes))
	fl.IntVar(&f.logAllowedEvery, "log-allowed-every", 0, "log one in every N admitted requests without violations at info (0: only at --log-level debug)")
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
	// Rule parameters: those of a .kordon.yaml found here, then those of
	// the admission configuration, which win.
	settings, err := configFrom(cmd.Context()).paramSettings(nil)
	if err != nil {
		return usageErr(err)
	}
	if catalogue, err = rules.SetParams(catalogue, append(settings, cfg.Params...)); err != nil {
		return usageErr(err)
	}
	// serve logs at info unless --log-level says otherwise.
	level := slog.LevelInfo
	if lf := cmd.Flags().Lookup("log-level"); lf != nil && lf.Changed {
		if err := level.UnmarshalText([]byte(lf.Value.String())); err != nil {
			return usageErr(fmt.Errorf("--log-level: %w", err))
		}
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	var minTLS uint16
	switch f.tlsMinVersion {
	case "1.3":
		minTLS = tls.VersionTLS13
	case "1.2":
		minTLS = tls.VersionTLS12
	default:
		return usageErr(fmt.Errorf("--tls-min-version %q: want 1.3 or 1.2", f.tlsMinVersion))
	}
	var clientCAs *certs.CAReloader
	if f.clientCA != "" {
		if clientCAs, err = certs.NewCAReloader(f.clientCA); err != nil {
			return usageErr(fmt.Errorf("--client-ca: %w", err))
		}
	} else if len(f.clientCNs) > 0 {
		return usageErr(errors.New("--client-cn needs --client-ca"))
	}
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
		Limits:          admission.Limits{MaxConcurrent: f.maxConcurrent, MaxBytes: f.maxBytes},
		LogAllowedEvery: f.logAllowedEvery,
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
	var getClientCAs func() *x509.CertPool
	if clientCAs != nil {
		getClientCAs = clientCAs.Pool
		go clientCAs.Run(ctx, f.reloadInterval,
			func() { log.Info("client CA reloaded", "file", f.clientCA) },
			func(err error) { log.Warn("client CA not reloaded", "error", err) })
	} else {
		log.Warn("CLIENT AUTHENTICATION IS OFF: anyone who can reach the webhook port can send it reviews and read its answers; " +
			"set --client-ca (and --client-cn) and configure the API server's client certificate (docs/admission.md)")
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.addr, err)
	}
	var opsLn net.Listener
	if f.opsAddr != "" {
		if opsLn, err = net.Listen("tcp", f.opsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen %s: %w", f.opsAddr, err)
		}
	}
	return admission.Serve(ctx, ln, admission.ServerOptions{
		Webhook:         w,
		GetCertificate:  reloader.GetCertificate,
		OpsListener:     opsLn,
		GetClientCAs:    getClientCAs,
		ClientCNs:       f.clientCNs,
		MinTLSVersion:   minTLS,
		Gatherer:        reg,
		Ready:           caches.Synced,
		DrainDelay:      f.drainDelay,
		ShutdownTimeout: f.shutdownTimeout,
		Logger:          log,
	})
}
