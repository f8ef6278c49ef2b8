package main

import (
	"github.com/spf13/cobra"
)

func newSensorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sensor",
		Short: "Runtime protection: an eBPF node agent that learns each workload's baseline and alerts on or kills strays",
		Long: `kordon sensor watches what each workload does on a node — processes,
file opens, connections, ptrace, mount, setuid — through eBPF programs on
tracepoints, learns a baseline per workload (owner + container + image
digest) while a new deployment settles, then reports, kills or deletes what
strays from it or matches a runtime rule (KOR-RT-*). It needs root (or
CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE) and a kernel with BTF. See
docs/sensor.md.`,
	}
	cmd.AddCommand(newSensorRunCmd(), newSensorInstallCmd(), newSensorReplayCmd(), newSensorProfilesCmd())
	return cmd
}
