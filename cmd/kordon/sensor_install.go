package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/sensor/install"
	"github.com/kordon-dev/kordon/internal/sensor/response"
	"github.com/kordon-dev/kordon/internal/version"
)

func newSensorInstallCmd() *cobra.Command {
	var o install.Options
	var policyFile string
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the DaemonSet and RBAC that run the sensor on every node",
		Long: `install renders a namespace, a service account allowed to list pods (and to
delete them with --allow-kill-pod), the response policy as a ConfigMap, and a
DaemonSet that runs kordon sensor run on every node with the host's process
ids, read-only tracefs and cgroup mounts, and only the capabilities the eBPF
programs need (BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE, KILL, DAC_READ_SEARCH;
docs/sensor.md explains each). Pipe it to kubectl apply -f -.`,
		Example: `  kordon sensor install | kubectl apply -f -
  kordon sensor install --policy response.yaml --allow-kill-pod --learn 30m
  kordon sensor install --dry-run   # report the policy's kills without acting`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyFile != "" {
				if _, err := response.LoadPolicy(policyFile); err != nil {
					return usageErr(err)
				}
				data, err := os.ReadFile(policyFile)
				if err != nil {
					return usageErr(err)
				}
				o.Policy = string(data)
			}
			if o.Image == "" {
				o.Image = "ghcr.io/kordon-dev/kordon:" + version.Version
			}
			out, err := install.Render(o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), string(out))
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Namespace, "namespace", "n", "kordon-system", "namespace to run the sensor in")
	fl.StringVar(&o.Image, "image", "", "kordon image (default ghcr.io/kordon-dev/kordon:<version>)")
	fl.StringVar(&policyFile, "policy", "", "response policy file to install (default: alert only)")
	fl.BoolVar(&o.AllowKillPod, "allow-kill-pod", false, "grant pods/delete, needed by kill-pod responses")
	fl.StringVar(&o.Learn, "learn", "10m", "learning window of a new workload")
	fl.BoolVar(&o.DryRun, "dry-run", false, "run the sensor in dry-run mode (responses reported, not carried out)")
	return cmd
}
