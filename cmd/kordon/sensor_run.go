//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor"
	"github.com/kordon-dev/kordon/internal/sensor/attribution"
	"github.com/kordon-dev/kordon/internal/sensor/baseline"
	"github.com/kordon-dev/kordon/internal/sensor/bpf"
	"github.com/kordon-dev/kordon/internal/sensor/detect"
	"github.com/kordon-dev/kordon/internal/sensor/response"
)

type sensorRunFlags struct {
	noKubernetes bool
	kubeconfig   string
	context      string
	node         string
	policyFile   string
	dryRun       bool
	profilesDir  string
	learn        time.Duration
	learnEvents  int64
	ringBytes    uint32
	rateLimit    float64
	metricsAddr  string
	output       string
	cgroupPrefix string
	cgroupRoot   string
	limits       bpf.Limits
	capFallback  bool
}

func newSensorRunCmd() *cobra.Command {
	f := &sensorRunFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sensor on this node, printing events as JSON lines",
		Long: `run loads the eBPF programs, attributes every event to its container and pod
(through cgroup ids and the pods of this node, listed from the API server),
learns a profile per workload for --learn (or --learn-events), then locks it
and reports deviations (KOR-RT-100..103) and runtime rule matches
(KOR-RT-001..042) as events, one JSON object per line (the Event contract of
docs/findings-and-events.md). A response policy (--policy) chooses alert,
kill or kill-pod per workload and rule; --dry-run reports without acting.
Lost events are counted and reported (KOR-RT-190..192, and Prometheus
metrics on --metrics-addr); identical repeated opens and capability checks
are folded in the kernel and counted (kordon_sensor_kernel_folded_total).

A burst in one workload cannot flood the ring buffer: in the kernel, each
cgroup may report --kernel-open-rate opens and --kernel-net-rate connections
per second (with bursts), and an open identical to one it reported within
--kernel-dedup-window is counted instead of reported. Execs, exits and
capability use are never limited. What the limits suppress is counted per
workload, reported as KOR-RT-191 (layer kernel) and exported as
kordon_sensor_kernel_suppressed_total; a rate of 0 turns a limit off.
Capability use comes from the capability/cap_capable tracepoint, or, on
kernels without it (or with --capability-fallback), from the system calls
that need a capability (docs/sensor.md lists what each mode sees).

SIGINT or SIGTERM stops it and saves profiles.`,
		Example: `  kordon sensor run --no-kubernetes --learn 5m
  kordon sensor run --node $NODE_NAME --policy response.yaml --profiles /var/lib/kordon/profiles
  kordon sensor run --dry-run --policy response.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSensor(cmd, f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.noKubernetes, "no-kubernetes", false, "plain host: workloads are cgroups, no API server is asked")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig (default: in-cluster, then $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context")
	fl.StringVar(&f.node, "node", os.Getenv("NODE_NAME"), "this node's name, to list its pods (default $NODE_NAME)")
	fl.StringVar(&f.policyFile, "policy", "", "response policy file (default: alert on everything)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report the kills and pod deletions the policy asks for without doing them")
	fl.StringVar(&f.profilesDir, "profiles", "", "directory to persist profiles in (default: memory only)")
	fl.DurationVar(&f.learn, "learn", 10*time.Minute, "learning window of a new workload")
	fl.Int64Var(&f.learnEvents, "learn-events", 0, "end learning after this many events of the workload (0: time only)")
	fl.Uint32Var(&f.ringBytes, "ring-buffer", 8<<20, "ring buffer size in bytes (a power of two)")
	fl.Float64Var(&f.rateLimit, "rate-limit", 10, "alerts per second per rule and workload (burst 5x); the rest are counted")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address, e.g. :9090")
	fl.StringVarP(&f.output, "output", "o", "-", "file to append events to (- for standard output)")
	fl.StringVar(&f.cgroupRoot, "cgroup-root", "", "where the host's cgroup v2 hierarchy is mounted (default: found in /proc/self/mountinfo)")
	fl.StringVar(&f.cgroupPrefix, "cgroup-prefix", "", "watch only cgroups below this path of the cgroup2 hierarchy (e.g. /kubepods.slice), filtered in the kernel")
	def := bpf.DefaultLimits()
	fl.Float64Var(&f.limits.OpenRate, "kernel-open-rate", def.OpenRate, "opens per second each cgroup may report, limited in the kernel (0: no limit); the rest are counted")
	fl.Uint32Var(&f.limits.OpenBurst, "kernel-open-burst", def.OpenBurst, "opens a cgroup may report at once above --kernel-open-rate")
	fl.Float64Var(&f.limits.NetRate, "kernel-net-rate", def.NetRate, "connection records (connect, accept, TCP established) per second per cgroup (0: no limit)")
	fl.Uint32Var(&f.limits.NetBurst, "kernel-net-burst", def.NetBurst, "connection records a cgroup may report at once above --kernel-net-rate")
	fl.DurationVar(&f.limits.DedupWindow, "kernel-dedup-window", def.DedupWindow, "an open identical to one reported this recently (same process, path, flags, result) is counted, not reported (0: off)")
	fl.BoolVar(&f.capFallback, "capability-fallback", false, "derive capability use from system calls even where the capability/cap_capable tracepoint exists")
	return cmd
}

func runSensor(cmd *cobra.Command, f *sensorRunFlags) error {
	if err := f.limits.Validate(); err != nil {
		return usageErr(fmt.Errorf("kernel limits (--kernel-open-rate, --kernel-open-burst, --kernel-net-rate, --kernel-net-burst, --kernel-dedup-window): %w", err))
	}
	var policy *response.Policy
	if f.policyFile != "" {
		p, err := response.LoadPolicy(f.policyFile)
		if err != nil {
			return usageErr(err)
		}
		policy = p
	} else {
		policy = &response.Policy{}
	}
	policy.DryRun = policy.DryRun || f.dryRun
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var client kubernetes.Interface
	var pods attribution.Pods
	if !f.noKubernetes {
		cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: f.kubeconfig, Context: f.context, InClusterFirst: true})
		if err != nil {
			return fmt.Errorf("%w (use --no-kubernetes on a plain host)", err)
		}
		c, err := kubernetes.NewForConfig(cc.REST)
		if err != nil {
			return fmt.Errorf("kubernetes client: %w", err)
		}
		client = c
		pods = attribution.NewAPIPods(c, f.node)
	}
	resolver, err := attribution.NewResolver(attribution.Options{Pods: pods, CgroupRoot: f.cgroupRoot})
	if err != nil {
		return err
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return err
	}
	specs, err := detect.Builtin()
	if err != nil {
		return err
	}
	det, err := detect.New(specs)
	if err != nil {
		return err
	}
	store, err := baseline.NewStore(baseline.Config{Window: f.learn, MaxEvents: f.learnEvents, Dir: f.profilesDir})
	if err != nil {
		// One broken profile file does not stop the others.
		slog.Warn("profiles", "error", err)
	}
	out, closeOut, err := openOutput(cmd, f.output)
	if err != nil {
		return usageErr(err)
	}
	defer closeOut()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := sensor.NewMetrics(reg)
	if f.metricsAddr != "" {
		srv := &http.Server{Addr: f.metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				slog.Error("metrics server", "error", err)
			}
		}()
		defer srv.Close()
	}
	enc := json.NewEncoder(out)
	var mu sync.Mutex
	s, err := sensor.New(sensor.Config{
		Catalogue: cat, Detector: det, Baselines: store, Responder: response.NewResponder(policy, client),
		Resolver: resolver, Metrics: metrics, RateLimit: f.rateLimit, CgroupPrefix: f.cgroupPrefix,
		Emit: func(e finding.Event) {
			mu.Lock()
			defer mu.Unlock()
			if err := enc.Encode(e); err != nil {
				slog.Error("write event", "error", err)
			}
		},
	})
	if err != nil {
		return err
	}
	popts := bpf.Options{RingBytes: f.ringBytes, Limits: f.limits, CapabilityFallback: f.capFallback}
	if f.cgroupPrefix != "" {
		root := f.cgroupRoot
		if root == "" {
			if root, err = attribution.Cgroup2Mount("/proc"); err != nil {
				return err
			}
		}
		// Filter in the kernel too: unwatched tasks cost a map lookup.
		popts.Watch = []string{filepath.Join(root, f.cgroupPrefix)}
	}
	probe, err := bpf.Load(popts)
	if err != nil {
		return fmt.Errorf("load eBPF programs (root or CAP_BPF+CAP_PERFMON and a kernel with BTF are needed): %w", err)
	}
	defer probe.Close()
	slog.Info("sensor running", "tracepoints", probe.Attached(), "missing", probe.Missing, "capabilities", probe.CapabilitySource,
		"kubernetes", !f.noKubernetes, "dryRun", policy.DryRun)
	go func() {
		<-ctx.Done()
		probe.Close()
	}()
	runErr := s.Run(ctx, probe)
	if err := store.Flush(); err != nil {
		slog.Error("save profiles", "error", err)
	}
	return runErr
}

// openOutput opens the events file ("-" for standard output).
func openOutput(cmd *cobra.Command, name string) (io.Writer, func(), error) {
	if name == "-" || name == "" {
		return cmd.OutOrStdout(), func() {}, nil
	}
	fh, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}
