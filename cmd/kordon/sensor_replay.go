package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor"
	"github.com/kordon-dev/kordon/internal/sensor/baseline"
	"github.com/kordon-dev/kordon/internal/sensor/detect"
	"github.com/kordon-dev/kordon/internal/sensor/event"
	"github.com/kordon-dev/kordon/internal/sensor/response"
)

func newSensorReplayCmd() *cobra.Command {
	var learnEvents int64
	var profilesFile, policyFile string
	cmd := &cobra.Command{
		Use:   "replay EVENTS.jsonl",
		Short: "Run recorded events through the baselines and rules, printing what the sensor would report",
		Long: `replay reads a recorded event stream (one JSON event per line, the format of
the rule fixtures and of docs/sensor.md) and runs it through the same
pipeline as kordon sensor run: baselines (learned from the first
--learn-events events of each workload, or loaded with --profiles), runtime
rules and the response policy, always in dry-run. Use it to develop rules and
review profiles without a kernel.`,
		Example: `  kordon sensor replay internal/sensor/detect/testdata/KOR-RT-001/fail.jsonl
  kordon sensor replay incident.jsonl --profiles reviewed.yaml --policy response.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fh, err := os.Open(args[0])
			if err != nil {
				return usageErr(err)
			}
			events, err := event.ReadStream(fh, args[0])
			fh.Close()
			if err != nil {
				return usageErr(err)
			}
			policy := &response.Policy{}
			if policyFile != "" {
				if policy, err = response.LoadPolicy(policyFile); err != nil {
					return usageErr(err)
				}
			}
			policy.DryRun = true
			store, _ := baseline.NewStore(baseline.Config{MaxEvents: learnEvents, Window: 1 << 62})
			if profilesFile != "" {
				pf, err := os.Open(profilesFile)
				if err != nil {
					return usageErr(err)
				}
				ps, err := baseline.Decode(pf, profilesFile)
				pf.Close()
				if err != nil {
					return usageErr(err)
				}
				if err := store.Import(ps); err != nil {
					return err
				}
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
			enc := json.NewEncoder(cmd.OutOrStdout())
			var werr error
			s, err := sensor.New(sensor.Config{Catalogue: cat, Detector: det, Baselines: store, Responder: response.NewResponder(policy, nil),
				RateLimit: 1e9, ProcRoot: "/nonexistent",
				Emit: func(e finding.Event) {
					if err := enc.Encode(e); err != nil && werr == nil {
						werr = err
					}
				}})
			if err != nil {
				return err
			}
			if err := s.Run(cmd.Context(), sensor.NewStream(events)); err != nil {
				return err
			}
			if werr != nil {
				return fmt.Errorf("write events: %w", werr)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&learnEvents, "learn-events", 0, "learn each workload's baseline from its first N events (0: no baselines)")
	fl.StringVar(&profilesFile, "profiles", "", "profiles to check against (YAML from kordon sensor profiles export)")
	fl.StringVar(&policyFile, "policy", "", "response policy; replay reports its actions in dry-run")
	return cmd
}
