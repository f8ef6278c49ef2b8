package main

import (
	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/version"
	"github.com/kordon-dev/kordon/internal/waf"
	"github.com/kordon-dev/kordon/internal/waf/install"
)

func newWAFInstallCmd() *cobra.Command {
	o := install.Options{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the Deployment and Service that run the WAF in a cluster",
		Long: `install renders a Deployment running kordon waf serve with the ext_authz
gRPC listener (for Istio's AuthorizationPolicy action CUSTOM; see docs/waf.md
for the MeshConfig extensionProvider) and, with --upstream, the reverse proxy
too, and its Service. Apply the output with kubectl apply -f -.`,
		Example: `  kordon waf install | kubectl apply -f -
  kordon waf install --namespace shop --upstream http://web.shop.svc:3000 --mode detect`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Image == "" {
				o.Image = "ghcr.io/kordon-dev/kordon:" + version.Version
			}
			out, err := install.Render(o)
			if err != nil {
				return usageErr(err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Namespace, "namespace", "n", "kordon-system", "namespace to run the WAF in")
	fl.StringVar(&o.Name, "name", "kordon-waf", "name of the Deployment and Service")
	fl.StringVar(&o.Image, "image", "", "kordon image (default ghcr.io/kordon-dev/kordon:<version>)")
	fl.Int32Var(&o.Replicas, "replicas", 2, "replicas of the Deployment")
	fl.Int32Var(&o.ExtAuthzPort, "ext-authz-port", 9000, "ext_authz gRPC port")
	fl.StringVar(&o.Upstream, "upstream", "", "also run the reverse proxy in front of this URL")
	fl.Int32Var(&o.ProxyPort, "proxy-port", 8080, "reverse proxy port (with --upstream)")
	fl.IntVar(&o.Paranoia, "paranoia", 1, "CRS paranoia level, 1 to 4")
	fl.StringVar(&o.Mode, "mode", "block", "block or detect")
	fl.DurationVar(&o.InspectTimeout, "inspect-timeout", waf.DefaultInspectTimeout, "engine time bound of one request (waf serve --inspect-timeout)")
	fl.IntVar(&o.MaxOverdue, "max-overdue", waf.DefaultMaxOverdue, "inspections past the bound that may still run (waf serve --max-overdue)")
	fl.BoolVar(&o.FailOpen, "fail-open", false, "allow requests the engine failed to inspect (default: refuse with 503)")
	fl.IntVar(&o.GCPercent, "gc-percent", waf.DefaultGCPercent, "Go garbage collector target (waf serve --gc-percent)")
	return cmd
}
