package main

import (
	"github.com/spf13/cobra"
)

func newAdmissionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Run the validating admission webhook, install it in a cluster, report its decisions",
		Long: `kordon admission stops a bad object before the API server stores it: the
rule catalogue and the governance policies (protected labels, namespace
scoping, required NetworkPolicies, trusted images, creation-rate anomalies),
each where and with the action (enforce, warn, audit) a configuration file
says. kordon admission findings turns its decision logs into findings. See
docs/admission.md.`,
	}
	cmd.AddCommand(newAdmissionServeCmd(), newAdmissionInstallCmd(), newAdmissionFindingsCmd())
	return cmd
}
