package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/rules"
)

type scanFlags struct {
	rules  ruleFlags
	report reportFlags
	inputFlags
	workers int
	quiet   bool
}

func newScanCmd() *cobra.Command {
	f := &scanFlags{}
	cmd := &cobra.Command{
		Use:   "scan [PATH ...] | --cluster",
		Short: "Check manifests, Helm charts, kustomize folders or a live cluster against the rule catalogue",
		Long: `Scan Kubernetes objects against Kordon's rules (CIS, NSA/CISA, NIST SP 800-190,
Pod Security Standards and best practices) and report what is wrong, against
which control, how bad it is and how to fix it.

Inputs:
  FILE          YAML or JSON, multi-document, kind: List
  FOLDER        walked recursively; a folder with Chart.yaml is rendered as a
                Helm chart, one with kustomization.yaml is built with kustomize
  CHART.tgz     a packaged Helm chart
  -             standard input
  --cluster     the cluster of the current kubeconfig context (all namespaces,
                -A, or -n NAMESPACE)

Namespaces: objects of files that name no namespace are judged in the one
they would be applied to: -n NAMESPACE for paths, as kubectl apply -n
(default "default"); a chart's --release-namespace; a kustomization's own
namespace field. Cluster-scoped kinds never get one.

Units: cross-object checks (service accounts bound to cluster-admin,
NetworkPolicy isolation) judge each path argument, Helm chart and
kustomization on its own, and findings name their unit; a kustomization that
is a base of another one in the scan is judged through its overlays.
--one-cluster judges all inputs as one cluster. --exclude GLOB leaves files
and folders out (reported as warnings).

Untrusted repositories are safe to scan: only regular files are read (others
are skipped with a warning), each up to --max-file-size; every chart has a
time and size budget (--helm-timeout, --helm-max-output); kustomize fetches
nothing remote and runs no program unless --allow-remote. See
docs/scanning.md.

Exit codes: 0 no finding at or above --fail-on and every score at or above
--min-score; 1 otherwise; 2 usage or input errors (a malformed document, a
chart or kustomization that fails, a file over a limit is reported with its
file and the rest is still scanned; paths without any Kubernetes object are
an error).`,
		Example: `  kordon scan examples/
  kordon scan deploy/ -o sarif > kordon.sarif
  kordon scan charts/web --values prod.yaml --set replicas=3 --release-namespace web
  kordon scan -n prod manifests/ --exclude 'tests/**'
  kordon scan envs/staging envs/prod
  kordon scan --cluster --context prod -n payments --framework PSS
  kubectl get deploy -A -o yaml | kordon scan - --fail-on high`,
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, f, args) },
	}
	f.rules.register(cmd)
	f.report.register(cmd, "low")
	fl := cmd.Flags()
	f.inputFlags.register(cmd)
	fl.IntVar(&f.workers, "workers", 0, "parallel evaluation workers (default: number of CPUs)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress on standard error (shown for long scans when it is a terminal, outside CI)")
	return cmd
}

func runScan(cmd *cobra.Command, f *scanFlags, args []string) error {
	ctx := cmd.Context()
	progress := startProgress(cmd.ErrOrStderr(), f.quiet)
	defer progress.stop()
	if !f.cluster && len(args) == 0 {
		return usageErr(fmt.Errorf("nothing to scan: give files or folders, - for standard input, or --cluster"))
	}
	if err := f.inputFlags.check(args); err != nil {
		return usageErr(err)
	}
	if err := f.report.prepare(f.rules.frameworks); err != nil {
		return err
	}
	cat, selected, err := f.rules.load()
	if err != nil {
		return err
	}
	checks, err := scanChecks(cat, selected)
	if err != nil {
		return err
	}

	progress.show(func(elapsed time.Duration) string { return "loading objects… " + seconds(elapsed) })
	restoreGC := collectOftenWhileLoading()
	loaded, target, err := loadScanInput(ctx, cmd, f, args)
	restoreGC()
	if err != nil {
		return usageErr(err)
	}
	limitMemory()
	loadedIn := progress.elapsed()
	var judged, total atomic.Int64
	total.Store(int64(len(loaded.Objects)))
	progress.show(func(elapsed time.Duration) string {
		return fmt.Sprintf("loaded %d objects in %s · %d rules · judged %d of %d objects… %s",
			len(loaded.Objects), seconds(loadedIn), checks.Rules.Len()+len(checks.Native), judged.Load(), total.Load(), seconds(elapsed))
	})
	in, err := posture.EvaluateWith(ctx, checks, loaded, posture.EvalOptions{Workers: f.workers,
		Progress: func(done, n int) { judged.Store(int64(done)); total.Store(int64(n)) }})
	if err != nil {
		return err
	}
	progress.stop()
	return f.report.finish(cmd, cat, in, target)
}

// scanChecks compiles the selected rules that kordon scan runs: CEL rules
// and native checks. A rule named with --rule that another engine runs is
// an error; one selected by framework or tag is left out.
func scanChecks(cat *rules.Catalogue, selected []*rules.Rule) (posture.Checks, error) {
	var runs []*rules.Rule
	for _, r := range selected {
		if r.RunsIn(rules.EngineScan) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		var engines []string
		for _, r := range selected {
			if r.Native != nil {
				engines = append(engines, r.ID+" ("+strings.Join(r.Native.Engines, ", ")+")")
			}
		}
		return posture.Checks{}, usageErr(fmt.Errorf("none of the selected rules runs in kordon scan: %s", strings.Join(engines, "; ")))
	}
	rs, err := rules.Compile(runs)
	if err != nil {
		return posture.Checks{}, usageErr(err)
	}
	native, err := nativeFor(rules.EngineScan, runs, scanNativeChecks())
	if err != nil {
		return posture.Checks{}, err
	}
	return posture.Checks{Rules: rs, Native: native, Catalogue: cat}, nil
}

// loadingGCPercent is the collector's target while objects are decoded:
// decoding allocates about four times what it keeps (573 MB for the 125 MB
// of objects of 10,000 workloads), and with Go's default of 100 the heap
// reached twice its live size before the first rule ran.
const loadingGCPercent = 50

// collectOftenWhileLoading sets the collector's target to loadingGCPercent
// until the returned function is called, unless GOGC or GOMEMLIMIT is set in
// the environment. At 10,000 objects it lowers the peak of anonymous memory
// while loading from about 315 MiB to under the limit that limitMemory sets
// afterwards; its CPU cost was within the measurement's noise.
func collectOftenWhileLoading() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(loadingGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// limitMemory sets a soft memory limit sized from the loaded input: twice
// the live heap (the objects and the compiled rules), and at least the live
// heap plus 128 MiB, so that the collector returns memory to the system
// while rules run. The limit is set only now: a fixed limit smaller than the
// input's objects (there used to be one of 256 MiB) makes the collector run
// without pause — 10,000 workloads took 120 s and 80,000 did not finish.
// The headroom trades CPU for memory: at 10,000 objects (126 MB live) the
// limit is 254 MB (it was 2× + 64 MiB, 316 MB: 320 MiB of anonymous memory
// against 255–265 MiB now, for about a fifth more CPU); from about 128 MiB
// live the headroom is the live heap, so the collector's work per object
// stays flat as the input grows. It costs one collection. GOGC and
// GOMEMLIMIT in the environment take precedence.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	n := int64(live[0].Value.Uint64())
	debug.SetMemoryLimit(max(2*n, n+128<<20))
}

// scanProgress shows on standard error what a long scan is doing, on one
// line rewritten in place: nothing for the first second, nothing when
// standard error is not a terminal, in CI or with --quiet. The line is
// cleared before the report is written. Its methods do nothing on nil.
type scanProgress struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
	line  func(elapsed time.Duration) string
	shown bool
	done  chan struct{}
	exit  sync.WaitGroup
}

func startProgress(w io.Writer, quiet bool) *scanProgress {
	file, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(file.Fd())) || os.Getenv("CI") != "" {
		return nil
	}
	p := &scanProgress{w: w, start: time.Now(), done: make(chan struct{})}
	p.exit.Add(1)
	go func() {
		defer p.exit.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				p.draw()
			}
		}
	}()
	return p
}

// show sets what the line says from now on.
func (p *scanProgress) show(line func(elapsed time.Duration) string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.line = line
	p.mu.Unlock()
}

func (p *scanProgress) elapsed() time.Duration {
	if p == nil {
		return 0
	}
	return time.Since(p.start)
}

func (p *scanProgress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := time.Since(p.start)
	if p.line == nil || elapsed < time.Second {
		return
	}
	line := p.line(elapsed)
	if width, _, err := term.GetSize(int(p.w.(*os.File).Fd())); err == nil && width > 1 {
		if r := []rune(line); len(r) >= width {
			line = string(r[:width-1])
		}
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.shown = true
}

// stop clears the line; later calls do nothing.
func (p *scanProgress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
		close(p.done)
	}
	p.mu.Unlock()
	p.exit.Wait()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func loadScanInput(ctx context.Context, cmd *cobra.Command, f *scanFlags, args []string) (*k8s.Loaded, string, error) {
	return f.inputFlags.load(ctx, cmd, args)
}
