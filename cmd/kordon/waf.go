package main

import "github.com/spf13/cobra"

func newWAFCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waf",
		Short: "Run the web application firewall (OWASP CRS) as a reverse proxy or Envoy ext_authz server",
		Long: `kordon waf protects HTTP applications with the OWASP Core Rule Set v4 running
in Coraza, in-process: as a reverse proxy in front of one upstream (kordon waf
serve --listen --upstream), as an Envoy ext_authz gRPC server that Istio asks
about every request (--ext-authz), or both in one process. kordon waf install
renders the Deployment and Service. See docs/waf.md.`,
	}
	cmd.AddCommand(newWAFServeCmd(), newWAFInstallCmd(), newWafLearnCmd(), newWafReplayCmd())
	return cmd
}
