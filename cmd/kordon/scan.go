package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/report"
	"github.com/kordon-dev/kordon/internal/rules"
)

type scanFlags struct {
	rules         ruleFlags
	output        string
	outFile       string
	color         string
	failOn        string
	minScore      float64
	exceptions    []string
	noAnnotations bool
	inputFlags
	workers int
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
                or -n NAMESPACE)

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
  kordon scan charts/web --values prod.yaml --set replicas=3
  kordon scan --cluster --context prod -n payments --framework PSS
  kubectl get deploy -A -o yaml | kordon scan - --fail-on high`,
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, f, args) },
	}
	f.rules.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "report format: "+strings.Join(report.Formats(), ", "))
	fl.StringVar(&f.outFile, "output-file", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.color, "color", "auto", "colour the table: auto (on a terminal, unless NO_COLOR is set), always, never")
	fl.StringVar(&f.failOn, "fail-on", "low", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical) or none")
	fl.Float64Var(&f.minScore, "min-score", 0, "exit 1 when a framework's compliance score is below this (0-100)")
	fl.StringArrayVar(&f.exceptions, "exceptions", nil, "exceptions file (repeatable); see docs/scanning.md#exceptions")
	fl.BoolVar(&f.noAnnotations, "no-annotation-exceptions", false, "ignore exceptions.kordon.io annotations on objects (owners may not exempt themselves)")
	f.inputFlags.register(cmd)
	fl.IntVar(&f.workers, "workers", 0, "parallel evaluation workers (default: number of CPUs)")
	return cmd
}

func runScan(cmd *cobra.Command, f *scanFlags, args []string) error {
	ctx := cmd.Context()
	tuneGC()
	if !f.cluster && len(args) == 0 {
		return usageErr(fmt.Errorf("nothing to scan: give files or folders, - for standard input, or --cluster"))
	}
	if f.cluster && len(args) > 0 {
		return usageErr(fmt.Errorf("give either paths or --cluster, not both"))
	}
	if !f.cluster && (f.namespace != "" || f.context != "" || f.kubeconfig != "") {
		return usageErr(fmt.Errorf("--namespace, --context and --kubeconfig go with --cluster"))
	}
	if !validFormat(f.output) {
		return usageErr(fmt.Errorf("--output %q: want one of %s", f.output, strings.Join(report.Formats(), ", ")))
	}
	failOn, failOnNone, err := parseFailOn(f.failOn)
	if err != nil {
		return usageErr(err)
	}
	if f.minScore < 0 || f.minScore > 100 {
		return usageErr(fmt.Errorf("--min-score %v: want 0 to 100", f.minScore))
	}
	selected, err := f.rules.load()
	if err != nil {
		return err
	}
	rs, err := rules.Compile(selected)
	if err != nil {
		return usageErr(err)
	}
	var exceptions []finding.Exception
	for _, file := range f.exceptions {
		ex, err := finding.LoadExceptions(file)
		if err != nil {
			return usageErr(err)
		}
		exceptions = append(exceptions, ex...)
	}

	loaded, target, err := loadScanInput(ctx, cmd, f, args)
	if err != nil {
		return usageErr(err)
	}
	rep, err := posture.Scan(ctx, rs, loaded, posture.Options{
		Exceptions:     exceptions,
		UseAnnotations: !f.noAnnotations,
		Workers:        f.workers,
	})
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	color := wantColor(f.color, out)
	if f.outFile != "" {
		file, err := os.Create(f.outFile)
		if err != nil {
			return usageErr(fmt.Errorf("--output-file: %w", err))
		}
		defer file.Close()
		out, color = file, f.color == "always"
	}
	bw := bufio.NewWriter(out)
	wd, _ := os.Getwd()
	err = report.Write(bw, f.output, rep, report.Options{
		Color: color, Now: time.Now(), Width: terminalWidth(out), Target: target,
		BaseDir: wd, Rules: ruleDocs(rs.Rules()),
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return scanVerdict(rep, failOn, failOnNone, f.minScore)
}

// tuneGC trades memory for speed within a budget: a scan allocates much
// short-lived memory, so the collector runs half as often as by default
// while a soft limit keeps the whole process small. GOGC and GOMEMLIMIT in
// the environment take precedence.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

// scanVerdict turns the report into the exit code: input and rule errors
// are 2, findings over the threshold or low scores are 1.
func scanVerdict(rep *finding.Report, failOn finding.Severity, failOnNone bool, minScore float64) error {
	if len(rep.Errors) > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("%d input or rule errors (listed in the report)", len(rep.Errors))}
	}
	if max, ok := rep.MaxSeverity(); ok && !failOnNone && max >= failOn {
		return &exitError{code: exitFindings}
	}
	for _, s := range rep.Scores {
		if s.Score < minScore {
			return &exitError{code: exitFindings, err: fmt.Errorf("%s compliance score %.1f is below --min-score %.1f", s.Framework, s.Score, minScore)}
		}
	}
	return nil
}

func parseFailOn(s string) (finding.Severity, bool, error) {
	if strings.EqualFold(s, "none") {
		return 0, true, nil
	}
	sev, err := finding.ParseSeverity(s)
	if err != nil {
		return 0, false, fmt.Errorf("--fail-on: %w (or none)", err)
	}
	return sev, false, nil
}

func validFormat(f string) bool {
	for _, x := range report.Formats() {
		if x == f {
			return true
		}
	}
	return false
}

func loadScanInput(ctx context.Context, cmd *cobra.Command, f *scanFlags, args []string) (*k8s.Loaded, string, error) {
	return f.inputFlags.load(ctx, cmd, args)
}

func wantColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	file, ok := w.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func terminalWidth(w io.Writer) int {
	if file, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(file.Fd())); err == nil && width > 0 {
			return width
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil {
		return c
	}
	return 0
}

func ruleDocs(rs []*rules.Rule) map[string]report.RuleDoc {
	out := make(map[string]report.RuleDoc, len(rs))
	for _, r := range rs {
		doc := report.RuleDoc{Description: r.Description}
		if len(r.References) > 0 {
			doc.HelpURI = r.References[0]
		}
		out[r.ID] = doc
	}
	return out
}
