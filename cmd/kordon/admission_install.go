package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/admission/install"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/version"
)

type admissionInstallFlags struct {
	opts        install.Options
	configFile  string
	failure     string
	apply       bool
	kubeconfig  string
	kubeContext string
}

func newAdmissionInstallCmd() *cobra.Command {
	f := &admissionInstallFlags{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print, or apply with --apply, everything that runs the webhook in a cluster",
		Long: `install renders the namespace, a service account with least-privilege RBAC
(read namespaces and NetworkPolicies), the configuration, a serving
certificate signed by a generated CA (or, with --cert-manager, a cert-manager
Issuer and Certificate and CA injection), a Deployment with three replicas and
a PodDisruptionBudget, a Service and the ValidatingWebhookConfiguration. The
Helm chart in deploy/helm/kordon renders the same objects.

The generated CA's key is not kept: to rotate, run install again (the
webhook reloads the new certificate from its Secret without a restart).`,
		Example: `  kordon admission install > kordon-admission.yaml
  kordon admission install --config admission.yaml --apply
  kordon admission install --cert-manager --failure-policy Ignore`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAdmissionInstall(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.opts.Namespace, "namespace", "n", "kordon-system", "namespace to run the webhook in")
	fl.StringVar(&f.opts.Image, "image", "", "kordon image (default ghcr.io/kordon-dev/kordon:<version>)")
	fl.Int32Var(&f.opts.Replicas, "replicas", 3, "replicas of the webhook Deployment")
	fl.StringVar(&f.failure, "failure-policy", "Fail", "what the API server does when the webhook does not answer: Fail or Ignore")
	fl.Int32Var(&f.opts.TimeoutSeconds, "timeout", 5, "seconds the API server waits for the webhook (1-30)")
	fl.StringVar(&f.configFile, "config", "", "configuration file to install (default: Pod Security baseline enforced, restricted warned)")
	fl.BoolVar(&f.opts.CertManager, "cert-manager", false, "request the serving certificate from cert-manager instead of generating one")
	fl.BoolVar(&f.apply, "apply", false, "apply the objects to the cluster (server-side apply) instead of printing them")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for --apply (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context for --apply")
	return cmd
}

func runAdmissionInstall(cmd *cobra.Command, f *admissionInstallFlags) error {
	f.opts.FailurePolicy = f.failure
	if f.configFile != "" {
		data, err := os.ReadFile(f.configFile)
		if err != nil {
			return usageErr(fmt.Errorf("--config: %w", err))
		}
		f.opts.Config = string(data)
	}
	objs, err := install.Render(f.opts, version.Version)
	if err != nil {
		return usageErr(err)
	}
	if !f.apply {
		out, err := install.YAML(objs)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: f.kubeconfig, Context: f.kubeContext})
	if err != nil {
		return err
	}
	return install.Apply(cmd.Context(), cc.REST, objs, func(kind, ns, name string) {
		if ns != "" {
			name = ns + "/" + name
		}
		fmt.Fprintf(cmd.OutOrStdout(), "applied %s %s\n", kind, name)
	})
}
