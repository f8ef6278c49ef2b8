package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/rules"
)

type scanFlags struct {
	rules  ruleFlags
	report reportFlags
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
	f.report.register(cmd, "low")
	fl := cmd.Flags()
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

	loaded, target, err := loadScanInput(ctx, cmd, f, args)
	if err != nil {
		return usageErr(err)
	}
	in, err := posture.Evaluate(ctx, checks, loaded, f.workers)
	if err != nil {
		return err
	}
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

func loadScanInput(ctx context.Context, cmd *cobra.Command, f *scanFlags, args []string) (*k8s.Loaded, string, error) {
	return f.inputFlags.load(ctx, cmd, args)
}
