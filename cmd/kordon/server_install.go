package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/operator/install"
	sensorinstall "github.com/kordon-dev/kordon/internal/sensor/install"
	"github.com/kordon-dev/kordon/internal/version"
)

func newServerInstallCmd() *cobra.Command {
	var o install.Options
	var noServer, noOperator, withSensor bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the objects that run kordon server and kordon operator in the cluster",
		Long: `install renders, for kubectl apply -f -:

  kordon-server     the event store: a Deployment (one replica, Recreate: one
                    SQLite writer), its PersistentVolumeClaim, a Service (API
                    on 7443, /metrics on 9090) and a service account without
                    API access
  kordon-operator   continuous posture scans, drift and IP feeds: a
                    Deployment with leader election, a Service (/metrics on
                    8080, feeds on 8090) and RBAC that only reads what a scan
                    reads and writes OpenReports (docs/operator.md explains
                    each rule); --baseline-git adds dry-run patch rights
  kordon-server-token  the API token both share (generated unless --token)

--service-monitor adds Prometheus Operator ServiceMonitors (the
monitoring.coreos.com CRDs must exist), --with-sensor the runtime sensor's
DaemonSet (kordon sensor install). The admission webhook is rendered by
kordon admission install. The Helm chart deploy/helm/kordon renders the same
objects (values server, operator, sensor, serviceMonitor).`,
		Example: `  kordon server install | kubectl apply -f -
  kordon server install --service-monitor --with-sensor -n security
  kordon server install --baseline-git https://git.example.com/platform/cluster.git --baseline-path prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Server, o.Operator = !noServer, !noOperator
			o.Drift = o.BaselineGit != ""
			if o.Image == "" {
				o.Image = "ghcr.io/kordon-dev/kordon:" + version.Version
			}
			out, err := install.Render(o)
			if err != nil {
				return usageErr(err)
			}
			if withSensor {
				s, err := sensorinstall.Render(sensorinstall.Options{Namespace: o.Namespace, Image: o.Image})
				if err != nil {
					return err
				}
				out = append(out, s...)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), string(out))
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Namespace, "namespace", "n", "kordon-system", "namespace to run in (must exist)")
	fl.StringVar(&o.Image, "image", "", "kordon image (default ghcr.io/kordon-dev/kordon:<version>)")
	fl.BoolVar(&noServer, "no-server", false, "leave the server out (the operator still sends to kordon-server)")
	fl.BoolVar(&noOperator, "no-operator", false, "leave the operator out")
	fl.StringVar(&o.Token, "token", "", "API token of the server (default: 32 random hex digits)")
	fl.StringVar(&o.StorageSize, "storage-size", "10Gi", "size of the server's volume")
	fl.StringVar(&o.RetentionAge, "retention-age", "720h", "how long the server keeps records")
	fl.StringVar(&o.BaselineGit, "baseline-git", "", "Git repository of the drift baseline (enables drift)")
	fl.StringVar(&o.BaselineBranch, "baseline-branch", "", "branch of the baseline repository")
	fl.StringVar(&o.BaselinePath, "baseline-path", "", "folder inside the baseline repository")
	fl.BoolVar(&o.ServiceMonitor, "service-monitor", false, "render Prometheus Operator ServiceMonitors")
	fl.BoolVar(&o.WatchPods, "watch-pods", true, "let the server watch pods (get, list, watch) to attribute flows to the pods that held their addresses")
	fl.BoolVar(&withSensor, "with-sensor", false, "render the runtime sensor DaemonSet too")
	return cmd
}
