package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	imagecluster "github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/drift"
	"github.com/kordon-dev/kordon/internal/operator/imagescan"
	"github.com/kordon-dev/kordon/internal/operator/ipfeed"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/strictyaml"
)

type operatorFlags struct {
	kubeconfig, context     string
	interval, debounce      time.Duration
	noPosture, noReports    bool
	db                      string
	server, tokenFile       string
	maxResults, maxBytes    int
	maxReports              int
	baselineGit             string
	baselineBranch          string
	baselinePath            string
	baselineDir             string
	baselineNamespace       string
	driftInterval           time.Duration
	feedsFile, feedsAddr    string
	metricsAddr, healthAddr string
	leaderElect             bool
	leaderNamespace         string
	logLevel                string
	imageDB                 string
	imageInterval           time.Duration
	inventoryCache          string
}

func newOperatorCmd() *cobra.Command {
	f := &operatorFlags{}
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Run in the cluster: continuous posture scans, drift from a Git baseline, IP feeds",
		Long: `operator runs inside the cluster (or against the current kubeconfig context)
and keeps doing what kordon scan does once:

Posture: the live cluster is scanned when it changes (metadata-only watches of
the kinds a scan reads, debounced by --debounce) and every --interval. The
findings go to the event store (--db for an embedded SQLite file or the
postgres:// URL of a kordon server's PostgreSQL database, or --server URL of a kordon server with --token-file / $KORDON_TOKEN) and to
OpenReports (openreports.io v1alpha1) Reports, one set per namespace and
ClusterReports for cluster-scoped objects, named kordon-posture, -2, ...:
each report holds at most --max-report-results results and
--max-report-bytes of JSON, a namespace at most --max-reports reports (the
least severe results beyond are dropped and counted in an annotation), and
a report is written only when its content changed.

Drift: with --baseline-git URL (a branch and a path in it) or --baseline-dir
DIR, every --drift-interval the baseline's objects are compared with the
live ones by a server-side dry-run apply, on the fields the baseline sets
only: defaults, webhook mutations and fields other controllers own are not
drift. Differences are KOR-DRIFT-001 findings, missing objects KOR-DRIFT-002,
in the kordon-drift reports and the store, with an event when an object
starts or stops drifting.

Images: with --image-db DIR (the folder kordon db update keeps), every
--image-check-interval the database files and the running images are
compared with the last rescan; when either changed, the images are rescanned:
inventories come from --inventory-cache (per set of layers), so a database
update re-matches without pulling a layer, and only new images are pulled.
KOR-IMG-VULN findings go to the store and the kordon-images reports.

Feeds: with --feeds FILE (a YAML list of {name, namespaces, selector}),
label-selected pods' IPs are served on --feeds-addr as /feeds/NAME (one IP
a line) and /feeds/NAME.json, for perimeter firewalls.

Prometheus metrics are on --metrics-addr /metrics, probes on --health-addr
(/healthz, /readyz). The RBAC it needs is in docs/operator.md; kordon
server install renders it. SIGTERM stops it cleanly.`,
		Example: `  kordon operator --db /var/lib/kordon/kordon.db
  kordon operator --server https://kordon-server.kordon-system:7443 --token-file /var/run/kordon/token
  kordon operator --baseline-git https://git.example.com/platform/cluster.git --baseline-branch main --baseline-path prod
  kordon operator --no-posture --feeds feeds.yaml --feeds-addr :8090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runOperator(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current one)")
	fl.DurationVar(&f.interval, "interval", time.Hour, "scan the whole cluster at least this often (0: only on change)")
	fl.DurationVar(&f.debounce, "debounce", 30*time.Second, "quiet period after a change before a scan (changes in a burst make one scan)")
	fl.BoolVar(&f.noPosture, "no-posture", false, "do not run posture scans")
	fl.BoolVar(&f.noReports, "no-reports", false, "do not write OpenReports (findings still go to the store)")
	fl.StringVar(&f.db, "db", "", "store to append findings and events to: an SQLite database file, or a postgres:// URL (docs/server.md)")
	fl.StringVar(&f.server, "server", "", "remote store: URL of a kordon server")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the kordon server's API token (default $"+tokenEnv+")")
	fl.IntVar(&f.maxResults, "max-report-results", reports.DefaultMaxResults, "results per report object")
	fl.IntVar(&f.maxBytes, "max-report-bytes", reports.DefaultMaxBytes, "JSON bytes per report object")
	fl.IntVar(&f.maxReports, "max-reports", reports.DefaultMaxReports, "report objects per namespace and scope")
	fl.StringVar(&f.baselineGit, "baseline-git", "", "Git repository URL of the drift baseline (https://, ssh:// needs no git program; file:// for a local one)")
	fl.StringVar(&f.baselineBranch, "baseline-branch", "", "branch of the baseline repository (default: its HEAD)")
	fl.StringVar(&f.baselinePath, "baseline-path", "", "folder inside the baseline repository (default: all of it)")
	fl.StringVar(&f.baselineDir, "baseline-dir", "", "local folder holding the drift baseline")
	fl.StringVar(&f.baselineNamespace, "baseline-namespace", "", "namespace of baseline objects that name none (default \"default\")")
	fl.DurationVar(&f.driftInterval, "drift-interval", 5*time.Minute, "compare the baseline this often")
	fl.StringVar(&f.feedsFile, "feeds", "", "YAML file of IP feeds: a list of {name, namespaces, selector}")
	fl.StringVar(&f.feedsAddr, "feeds-addr", ":8090", "address of the IP feed server")
	fl.StringVar(&f.metricsAddr, "metrics-addr", ":8080", "address of /metrics (0 disables)")
	fl.StringVar(&f.healthAddr, "health-addr", ":8081", "address of /healthz and /readyz (0 disables)")
	fl.BoolVar(&f.leaderElect, "leader-elect", false, "run the loops in one replica only (a Lease named kordon-operator)")
	fl.StringVar(&f.leaderNamespace, "leader-election-namespace", "", "namespace of the Lease (default: the pod's)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.imageDB, "image-db", "", "vulnerability database folder (kordon db update); rescans running images when it or the images change")
	fl.DurationVar(&f.imageInterval, "image-check-interval", 10*time.Minute, "how often to check the database and the running images for a rescan")
	fl.StringVar(&f.inventoryCache, "inventory-cache", "", "folder of cached image inventories (default $XDG_CACHE_HOME/kordon/inventory)")
	return cmd
}

func runOperator(cmd *cobra.Command, f *operatorFlags) error {
	ctx := cmd.Context()
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageErr(fmt.Errorf("--log-level: %w", err))
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	if f.db != "" && f.server != "" {
		return usageErr(fmt.Errorf("--db and --server both name a store: choose one"))
	}
	if f.baselineGit != "" && f.baselineDir != "" {
		return usageErr(fmt.Errorf("--baseline-git and --baseline-dir both name a baseline: choose one"))
	}
	if f.noPosture && f.baselineGit == "" && f.baselineDir == "" && f.feedsFile == "" && f.imageDB == "" {
		return usageErr(fmt.Errorf("nothing to do: --no-posture without a baseline or feeds"))
	}
	var feeds *ipfeed.Feeds
	if f.feedsFile != "" {
		groups, err := loadFeeds(f.feedsFile)
		if err != nil {
			return usageErr(err)
		}
		if feeds, err = ipfeed.New(groups); err != nil {
			return usageErr(fmt.Errorf("%s: %w", f.feedsFile, err))
		}
	}
	cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: f.kubeconfig, Context: f.context, InClusterFirst: true})
	if err != nil {
		return usageErr(err)
	}
	var sk sink.Sink
	switch {
	case f.db != "":
		st, err := openStore(ctx, f.db)
		if err != nil {
			return usageErr(fmt.Errorf("--db: %w", err))
		}
		defer st.Close()
		sk = sink.Store{Store: st}
	case f.server != "":
		tok, err := readToken(f.tokenFile)
		if err != nil {
			return err
		}
		sk = sink.Remote{Client: &httpapi.Client{BaseURL: f.server, Token: tok, HTTP: &http.Client{Timeout: time.Minute}}}
	}
	metrics, err := operator.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return err
	}
	defer metrics.Unregister(ctrlmetrics.Registry)
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return err
	}
	layout := reports.Layout{MaxResults: f.maxResults, MaxBytes: f.maxBytes, MaxReports: f.maxReports}
	cfg := operator.Config{RESTConfig: cc.REST, Debounce: f.debounce, Interval: f.interval,
		MetricsAddr: f.metricsAddr, HealthAddr: f.healthAddr, LeaderElection: f.leaderElect,
		LeaderElectionID: "kordon-operator", LeaderElectionNamespace: f.leaderNamespace, Metrics: metrics, Logger: log}
	if !f.noPosture {
		checks, err := operator.ScanChecks(cat, cat.Rules())
		if err != nil {
			return err
		}
		p := &operator.Posture{RESTConfig: cc.REST, Checks: checks, Sink: sk, Layout: layout, Logger: log}
		if !f.noReports {
			p.Reports = &reports.Writer{Scope: "posture"}
		}
		cfg.Posture = p
	}
	if f.baselineGit != "" || f.baselineDir != "" {
		d, err := driftLoop(f, cc, cat, sk, layout, log)
		if err != nil {
			return err
		}
		cfg.Drift = d
	}
	if f.imageDB != "" {
		il, err := imageLoop(f, cc, cat, sk, layout, log)
		if err != nil {
			return err
		}
		cfg.Images = il
	}
	if feeds != nil {
		cfg.Feeds, cfg.FeedAddr = operator.Feeds{Feeds: feeds}, f.feedsAddr
	}
	return operator.Run(ctx, cfg)
}

func driftLoop(f *operatorFlags, cc *k8s.ClientConfig, cat *rules.Catalogue, sk sink.Sink, layout reports.Layout, log *slog.Logger) (*operator.DriftLoop, error) {
	load := k8s.LoadOptions{Namespace: f.baselineNamespace}
	var base drift.Baseline = drift.Folder{Path: f.baselineDir, Options: load}
	if f.baselineGit != "" {
		base = drift.Git{URL: f.baselineGit, Branch: f.baselineBranch, Path: f.baselinePath, Options: load}
	}
	det, err := drift.NewDetector(cc.REST)
	if err != nil {
		return nil, err
	}
	d := &operator.DriftLoop{Baseline: base, Detector: det, Catalogue: cat, Interval: f.driftInterval,
		Sink: sk, Layout: layout, Logger: log}
	if !f.noReports {
		d.Reports = &reports.Writer{Scope: "drift"}
	}
	return d, nil
}

func imageLoop(f *operatorFlags, cc *k8s.ClientConfig, cat *rules.Catalogue, sk sink.Sink, layout reports.Layout, log *slog.Logger) (*operator.ImageLoop, error) {
	if _, err := os.Stat(f.imageDB); err != nil {
		return nil, usageErr(fmt.Errorf("--image-db: %w", err))
	}
	client, err := kubernetes.NewForConfig(cc.REST)
	if err != nil {
		return nil, err
	}
	cache := f.inventoryCache
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, usageErr(fmt.Errorf("--inventory-cache: %w", err))
		}
		cache = filepath.Join(d, "kordon", "inventory")
	}
	inventory.QuietLibraryLogs()
	il := &operator.ImageLoop{Interval: f.imageInterval, Sink: sk, Layout: layout, Logger: log,
		Rescanner: &imagescan.Rescanner{Client: client, DBDir: f.imageDB, Cache: imagecluster.Cache{Dir: cache}, Catalogue: cat, Logger: log}}
	if !f.noReports {
		il.Reports = &reports.Writer{Scope: "images"}
	}
	return il, nil
}

// loadFeeds reads the feed groups file strictly (unknown fields are errors).
func loadFeeds(path string) ([]ipfeed.Group, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--feeds: %w", err)
	}
	var groups []ipfeed.Group
	if _, problems := strictyaml.Check(data, reflect.TypeOf(groups)); len(problems) > 0 {
		strictyaml.Locate(path, &strictyaml.Positions{}, problems)
		return nil, &strictyaml.Error{Problems: problems}
	}
	if err := yaml.Unmarshal(data, &groups); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return groups, nil
}
