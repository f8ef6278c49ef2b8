package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	var logLevel, cpuProfile string
	var stopProfile func()
	var conf configFlags
	root := &cobra.Command{
		Use:   "kordon",
		Short: "Kubernetes security: posture, rules, admission control and network policies",
		Long: `Kordon checks Kubernetes manifests, Helm charts, kustomize folders and live
clusters against the CIS Kubernetes Benchmark, the NSA/CISA hardening guide,
NIST SP 800-190 and the Pod Security Standards, with one catalogue of rules
written in CEL that also runs at admission and exports to native
ValidatingAdmissionPolicies.`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// The configuration file first: it may set any flag,
			// --log-level too.
			if err := conf.apply(cmd); err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--log-level: %w", err)}
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			if src := configFrom(cmd.Context()).source(); src != "" {
				slog.Info("configuration", "file", src)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--cpu-profile: %w", err)}
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--cpu-profile: %w", err)}
				}
				stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
			return nil
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if stopProfile != nil {
				stopProfile()
			}
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&cpuProfile, "cpu-profile", "", "write a Go CPU profile of the command to this file (written when the command succeeds)")
	_ = root.PersistentFlags().MarkHidden("cpu-profile")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newVersionCmd(), newScanCmd(), newRulesCmd())
	root.AddCommand(newNetpolCmd())
	root.AddCommand(newAdmissionCmd())
	root.AddCommand(newSensorCmd())
	root.AddCommand(newWAFCmd())
	root.AddCommand(newServerCmd(), newQueryCmd(), newOperatorCmd())
	root.AddCommand(newImageCmd(), newDBCmd())
	root.AddCommand(newConfigCmd())
	conf.register(root)
	explainConfigErrors(root)
	return root
}

// explainConfigErrors makes every command say, when its error names a flag
// whose value came from the configuration file, where that value is
// written.
func explainConfigErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			return configFrom(ctxOf(cmd)).explain(run(cmd, args))
		}
	}
	for _, sub := range c.Commands() {
		explainConfigErrors(sub)
	}
}
