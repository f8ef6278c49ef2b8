package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kordon-dev/kordon/internal/alert"
	"github.com/kordon-dev/kordon/internal/console"
	"github.com/kordon-dev/kordon/internal/console/assets"
	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
	"github.com/kordon-dev/kordon/internal/console/livemap"
	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/intel"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/servermetrics"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/kafkaingest"
	"github.com/kordon-dev/kordon/internal/store/postgres"
	"github.com/kordon-dev/kordon/internal/store/query"
)

type serverFlags struct {
	db                string
	addr              string
	tokenFile         string
	noAuth            bool
	certFile, keyFile string
	retentionAge      time.Duration
	retentionSize     string
	retentionInterval time.Duration
	maxBody           string
	maxBatch          int
	queryTimeout      time.Duration
	shutdownTimeout   time.Duration
	podHistory        []string
	intelFeeds        []string
	alerts            string
	kafkaBrokers      []string
	kafkaTopics       []string
	kafkaGroup        string
	metricsAddr       string
	noConsole         bool
	consoleDB         string
	viewerTokenFile   string
	manifests         []string
	mapCluster        bool
	mapKubeconfig     string
	mapContext        string
	mapRefresh        time.Duration
	oidcIssuer        string
	oidcClientID      string
	oidcSecretFile    string
	oidcRedirect      string
	oidcEditors       []string
	flowSources       flowSourceFlags
}

// tokenEnv names the environment variable holding the API token, for the
// server and for `kordon query --server`.
const tokenEnv = "KORDON_TOKEN"

func newServerCmd() *cobra.Command {
	f := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Store findings and events and answer queries over HTTP",
		Long: `server keeps Findings and Events in an embedded SQLite database (--db FILE),
or on a PostgreSQL server that several kordon servers may share
(--db postgres://...), and serves the HTTP API of docs/server.md:

  POST /api/v1/events     a JSON array of events, or one event a line (NDJSON)
  POST /api/v1/findings   a kordon scan -o json report, or a JSON array of findings
  POST /api/v1/flows      a flow log: Hubble JSON, Kordon JSONL/CSV, AWS VPC (v2-v5)
  POST /api/v1/query      a query: CEL filter, time range, group-by and count
  GET  /api/v1/query      the same in URL parameters
  GET  /api/v1/stats      records, bytes and time span held
  GET  /healthz           liveness, without a token
  GET  /                  the web console (docs/console.md)

The web console at / logs in with the API token (role editor) or the
--console-viewer-token-file token (role viewer, read-only); exceptions
created there are kept in --console-db with an audit trail. Its network
map comes from --manifests, or from the live cluster with --map-cluster
(read again every --map-refresh). With
--kafka-brokers it also consumes events from Kafka topics.

Every /api/ request carries "Authorization: Bearer TOKEN"; the token is read
from --token-file or $KORDON_TOKEN (at least 16 characters). Records older
than --retention-age are removed, and the oldest records while the database
holds more than --retention-size, every --retention-interval. Events are
checked at ingest against the --intel-feed indicators: a match adds
intel.* attributes to the event and stores a KOR-INTEL-001 event. Stored
records are checked against the --alerts rules, whose alerts go to webhook
and syslog (CEF, LEEF) notifiers. With --hubble it follows Hubble's flows
over its gRPC observer API (resuming after a reconnect; lost flows are
stored as gap events). With --kubeconfig or --in-cluster it watches the
cluster's pods, so that a flow is attributed to the pod that held an
address at the flow's time. Serves HTTPS
with --tls-cert-file and --tls-key-file, plain HTTP otherwise (put it behind
TLS, or keep it on localhost). On SIGTERM it finishes the requests in flight.`,
		Example: `  KORDON_TOKEN=$(openssl rand -hex 16) kordon server --db /var/lib/kordon/kordon.db
  kordon server --token-file /etc/kordon/token --db "postgres://kordon:$PGPASSWORD@db:5432/kordon?sslmode=require" --console-db /var/lib/kordon/console.db
  kordon scan deploy/ -o json | curl -H "Authorization: Bearer $KORDON_TOKEN" --data-binary @- localhost:7443/api/v1/findings
  kordon query --server http://localhost:7443 --since 24h --group-by ruleID 'severityRank >= 3'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd, f) },
	}
	cmd.AddCommand(newServerInstallCmd())
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "kordon.db", dbHelp+"; a file is created when missing")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:7443", "listen address")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics (requests, latency, store size) on this address, without a token (default: off)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the API bearer token (default $"+tokenEnv+")")
	fl.BoolVar(&f.noAuth, "no-auth", false, "serve the API without a token (only on a trusted network)")
	fl.StringVar(&f.certFile, "tls-cert-file", "", "serving certificate (PEM); with --tls-key-file serves HTTPS")
	fl.StringVar(&f.keyFile, "tls-key-file", "", "serving key (PEM)")
	fl.DurationVar(&f.retentionAge, "retention-age", 30*24*time.Hour, "remove records older than this (0 keeps them)")
	fl.StringVar(&f.retentionSize, "retention-size", "10Gi", "remove the oldest records while the database holds more (0 sets no bound)")
	fl.DurationVar(&f.retentionInterval, "retention-interval", 5*time.Minute, "how often to apply the retention bounds")
	fl.StringVar(&f.maxBody, "max-body", "16Mi", "largest request body accepted")
	fl.IntVar(&f.maxBatch, "max-batch", httpapi.DefaultMaxBatch, "most records in one ingest request")
	fl.DurationVar(&f.queryTimeout, "query-timeout", httpapi.DefaultQueryTimeout, "longest a query may run")
	fl.StringArrayVar(&f.podHistory, "pod-history", nil, "IP to pod history for attributing flows: kubectl get pods -A -o json output, or Kordon's history lines (repeatable; see docs/server.md)")
	fl.StringArrayVar(&f.intelFeeds, "intel-feed", nil, "threat-intelligence feed: name=N,file=PATH or url=URL[,format=list|stix|misp][,severity=high][,refresh=1h] (repeatable; see docs/server.md)")
	fl.StringVar(&f.alerts, "alerts", "", "alert rules and notifiers (YAML; see docs/server.md)")
	fl.StringSliceVar(&f.kafkaBrokers, "kafka-brokers", nil, "Kafka brokers (host:port, comma-separated) to consume events from")
	fl.StringSliceVar(&f.kafkaTopics, "kafka-topic", []string{"kordon-events"}, "Kafka topics of events (one JSON event a record)")
	fl.StringVar(&f.kafkaGroup, "kafka-group", "kordon-server", "Kafka consumer group")
	fl.BoolVar(&f.noConsole, "no-console", false, "do not serve the web console at /")
	fl.StringVar(&f.consoleDB, "console-db", "", "SQLite database of the console's exceptions and audit trail (default: beside an SQLite --db, NAME-console.db; kordon-console.db with PostgreSQL)")
	fl.StringVar(&f.viewerTokenFile, "console-viewer-token-file", "", "file holding a token that logs in to the console read-only (at least 16 characters)")
	fl.StringArrayVar(&f.manifests, "manifests", nil, "files or folders of the cluster's manifests (Helm charts and kustomizations too) for the console's network map (repeatable)")
	fl.BoolVar(&f.mapCluster, "map-cluster", false, "draw the console's network map from the live cluster (kubeconfig, or the in-cluster service account), read again every --map-refresh")
	fl.StringVar(&f.mapKubeconfig, "map-kubeconfig", "", "with --map-cluster: kubeconfig file (default $KUBECONFIG or ~/.kube/config, else in-cluster)")
	fl.StringVar(&f.mapContext, "map-context", "", "with --map-cluster: kubeconfig context (default the current one)")
	fl.DurationVar(&f.mapRefresh, "map-refresh", 5*time.Minute, "with --map-cluster: how often to read the cluster again")
	fl.StringVar(&f.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL: the console offers single sign-on (code flow with PKCE)")
	fl.StringVar(&f.oidcClientID, "oidc-client-id", "", "the console's OIDC client ID")
	fl.StringVar(&f.oidcSecretFile, "oidc-client-secret-file", "", "file holding the console's OIDC client secret")
	fl.StringVar(&f.oidcRedirect, "oidc-redirect-url", "", "the console's OIDC callback as the browser sees it: https://HOST/console/oidc/callback")
	fl.StringSliceVar(&f.oidcEditors, "oidc-editors", nil, "users (email or subject) and groups (groups claim) given the editor role; other OIDC users are viewers")
	addFlowSourceFlags(fl, &f.flowSources)
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on shutdown, how long requests in flight may take to finish")
	return cmd
}

// parseBytes reads a size such as 10Gi, 500M or 1048576.
func parseBytes(flag, s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return 0, usageErr(fmt.Errorf("--%s %q: want a size such as 10Gi, 500Mi or 0", flag, s))
	}
	return q.Value(), nil
}

// readToken reads the API token from a file or the environment.
func readToken(file string) (string, error) {
	tok := os.Getenv(tokenEnv)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr(fmt.Errorf("--token-file: %w", err))
		}
		tok = string(b)
	}
	return strings.TrimSpace(tok), nil
}

func loadHistory(h *flowlog.History, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return h.LoadHistory(fh, path)
}

func runServer(cmd *cobra.Command, f *serverFlags) error {
	ctx := cmd.Context()
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	tok, err := readToken(f.tokenFile)
	if err != nil {
		return err
	}
	switch {
	case f.noAuth && tok != "":
		return usageErr(errors.New("--no-auth with a token: give one or the other"))
	case !f.noAuth && tok == "":
		return usageErr(fmt.Errorf("no API token: set $%s or --token-file (or --no-auth on a trusted network)", tokenEnv))
	case !f.noAuth && len(tok) < 16:
		return usageErr(errors.New("the API token is shorter than 16 characters"))
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return usageErr(errors.New("--tls-cert-file and --tls-key-file go together"))
	}
	maxSize, err := parseBytes("retention-size", f.retentionSize)
	if err != nil {
		return err
	}
	maxBody, err := parseBytes("max-body", f.maxBody)
	if err != nil {
		return err
	}
	if f.retentionInterval <= 0 {
		return usageErr(errors.New("--retention-interval must be positive"))
	}
	var tlsCfg *tls.Config
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return usageErr(fmt.Errorf("TLS certificate: %w", err))
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	history := flowlog.NewHistory()
	for _, p := range f.podHistory {
		if err := loadHistory(history, p); err != nil {
			return usageErr(fmt.Errorf("--pod-history: %w", err))
		}
	}
	enricher := intel.NewEnricher()
	feeds := &intel.Feeds{Enricher: enricher, Log: log}
	for _, spec := range f.intelFeeds {
		feed, err := intel.ParseFeed(spec)
		if err != nil {
			return usageErr(fmt.Errorf("--intel-feed: %w", err))
		}
		feeds.Feeds = append(feeds.Feeds, feed)
	}
	if err := feeds.Load(ctx); err != nil {
		return usageErr(fmt.Errorf("--intel-feed: %w", err))
	}
	env, err := query.NewEnv()
	if err != nil {
		return err
	}
	var dispatcher *alert.Dispatcher
	if f.alerts != "" {
		engine, notifiers, err := alert.LoadConfig(f.alerts, env)
		if err != nil {
			return usageErr(fmt.Errorf("--alerts: %w", err))
		}
		dispatcher = alert.NewDispatcher(engine, notifiers, log)
	}
	st, err := openStore(ctx, f.db)
	if err != nil {
		return usageErr(fmt.Errorf("--db: %w", err))
	}
	defer st.Close()
	norm := &flowlog.Normalizer{History: history}
	opts := httpapi.Options{Store: st, Env: env, Token: tok, MaxBody: maxBody, MaxBatch: f.maxBatch, QueryTimeout: f.queryTimeout,
		Flows: norm, Enrich: enricher.Enrich}
	if dispatcher != nil {
		opts.Ingested = dispatcher.Observe
	}
	api := httpapi.New(opts)
	handler := api.Handler()
	if !f.noConsole {
		h, closeConsole, err := consoleHandler(ctx, f, tok, st, api.Handler(), tlsCfg != nil, log)
		if err != nil {
			return err
		}
		defer closeConsole()
		handler = h
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return usageErr(fmt.Errorf("--addr: %w", err))
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	metrics := servermetrics.New(st)
	srv := &http.Server{
		Handler:           metrics.Wrap(handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      f.queryTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	retainCtx, stopRetain := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		store.RetainEvery(retainCtx, st, store.Retention{MaxAge: f.retentionAge, MaxBytes: maxSize}, f.retentionInterval, log)
	}()
	defer func() { stopRetain(); <-retained }()
	if len(f.kafkaBrokers) > 0 {
		consumed := make(chan struct{})
		go func() {
			defer close(consumed)
			err := kafkaingest.Run(retainCtx, kafkaingest.Options{Brokers: f.kafkaBrokers, Topics: f.kafkaTopics, Group: f.kafkaGroup, Append: api.Ingest, Log: log})
			if err != nil {
				log.Error("kafka ingest stopped", "err", err)
			}
		}()
		defer func() { stopRetain(); <-consumed }()
	}
	if dispatcher != nil {
		sent := make(chan struct{})
		go func() { defer close(sent); dispatcher.Run(retainCtx) }()
		defer func() { stopRetain(); <-sent }()
	}
	// Started after the dispatcher, so stopped before it: the last flows
	// stored at shutdown still reach the alert rules.
	waitFlows, err := startFlowSources(retainCtx, &f.flowSources, norm, api.Ingest, f.retentionAge, metrics.Register, log)
	if err != nil {
		return err
	}
	defer func() { stopRetain(); waitFlows() }()
	if len(feeds.Feeds) > 0 {
		refreshed := make(chan struct{})
		go func() { defer close(refreshed); feeds.Run(retainCtx) }()
		defer func() { stopRetain(); <-refreshed }()
	}
	if f.metricsAddr != "" {
		mln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return usageErr(fmt.Errorf("--metrics-addr: %w", err))
		}
		msrv := &http.Server{Handler: metrics.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "db", dbName(f.db))
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// consoleHandler serves the store API under /api/ and /healthz and the web
// console at every other path.
func consoleHandler(ctx context.Context, f *serverFlags, tok string, st store.Store, api http.Handler, tlsOn bool, log *slog.Logger) (http.Handler, func(), error) {
	var tokens []auth.Token
	if tok != "" {
		tokens = append(tokens, auth.Token{Secret: tok, User: "admin", Role: auth.Editor})
	}
	if f.viewerTokenFile != "" {
		b, err := os.ReadFile(f.viewerTokenFile)
		if err != nil {
			return nil, nil, usageErr(fmt.Errorf("--console-viewer-token-file: %w", err))
		}
		v := strings.TrimSpace(string(b))
		if len(v) < 16 || v == tok {
			return nil, nil, usageErr(errors.New("--console-viewer-token-file: the token must have at least 16 characters and differ from the API token"))
		}
		tokens = append(tokens, auth.Token{Secret: v, User: "viewer", Role: auth.Viewer})
	}
	if len(tokens) == 0 && f.oidcIssuer == "" {
		log.Warn("web console off: with --no-auth it needs --console-viewer-token-file or --oidc-issuer")
		return api, func() {}, nil
	}
	mgr := auth.New(auth.Options{Tokens: tokens, Secure: tlsOn})
	var oi *auth.OIDC
	if f.oidcIssuer != "" {
		var secret string
		if f.oidcSecretFile != "" {
			b, err := os.ReadFile(f.oidcSecretFile)
			if err != nil {
				return nil, nil, usageErr(fmt.Errorf("--oidc-client-secret-file: %w", err))
			}
			secret = strings.TrimSpace(string(b))
		}
		var err error
		oi, err = auth.NewOIDC(ctx, auth.OIDCOptions{Issuer: f.oidcIssuer, ClientID: f.oidcClientID, ClientSecret: secret,
			RedirectURL: f.oidcRedirect, Editors: f.oidcEditors}, mgr)
		if err != nil {
			return nil, nil, usageErr(fmt.Errorf("--oidc-issuer: %w", err))
		}
	}
	dbPath := f.consoleDB
	if dbPath == "" {
		dbPath = strings.TrimSuffix(f.db, ".db") + "-console.db"
		if postgres.IsURL(f.db) {
			dbPath = "kordon-console.db"
		}
	}
	exc, err := exceptions.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, usageErr(fmt.Errorf("--console-db: %w", err))
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		exc.Close()
		return nil, nil, err
	}
	var nm *netmap.Map
	if len(f.manifests) > 0 {
		loaded, err := k8s.LoadPaths(ctx, f.manifests, k8s.LoadOptions{})
		if err != nil {
			exc.Close()
			return nil, nil, usageErr(fmt.Errorf("--manifests: %w", err))
		}
		for _, e := range loaded.Errors {
			log.Error("--manifests: input error", "err", e)
		}
		c, problems := model.FromObjects(loaded.Objects)
		for _, p := range problems {
			log.Error("--manifests: left out of the network map", "err", p.Error())
		}
		nm = netmap.New(c)
		log.Info("network map", "workloads", len(c.Workloads), "policies", len(c.Policies))
	}
	var live *livemap.Refresher
	switch {
	case f.mapCluster && len(f.manifests) > 0:
		exc.Close()
		return nil, nil, usageErr(fmt.Errorf("--map-cluster and --manifests: give one source of the network map"))
	case f.mapCluster && f.mapRefresh < 10*time.Second:
		exc.Close()
		return nil, nil, usageErr(fmt.Errorf("--map-refresh %s: want at least 10s", f.mapRefresh))
	case f.mapCluster:
		live = &livemap.Refresher{Cluster: k8s.ClusterOptions{Kubeconfig: f.mapKubeconfig, Context: f.mapContext, Logger: log},
			Interval: f.mapRefresh, Log: log, Set: func(m *netmap.Map) { nm = m }}
		if err := live.Refresh(ctx); err != nil {
			exc.Close()
			return nil, nil, fmt.Errorf("--map-cluster: %w", err)
		}
	case f.mapKubeconfig != "" || f.mapContext != "":
		exc.Close()
		return nil, nil, usageErr(fmt.Errorf("--map-kubeconfig and --map-context go with --map-cluster"))
	}
	c := console.New(console.Options{Store: st, Map: nm, Catalogue: cat, Exceptions: exc, Assets: assets.FS(), Log: log,
		Auth: mgr, OIDC: oi, Timeout: f.queryTimeout})
	if live != nil {
		live.Set = c.SetMap
		go func() { _ = live.Run(ctx) }()
	}
	go func() {
		if err := c.Warm(ctx); err != nil {
			log.Warn("console: overview not precomputed", "err", err)
		}
	}()
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/", c.Handler())
	return mux, func() { exc.Close() }, nil
}
