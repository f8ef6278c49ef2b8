package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

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
	clientAuth  string // folder for the API server's files
	clientCN    string
	apiDir      string
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
webhook reloads the new certificate from its Secret without a restart).

With --client-auth-dir DIR the webhook accepts only the API server's client
certificate (common name --client-cn), and install writes what the API
server needs into DIR: admission-config.yaml (pass it to kube-apiserver
--admission-control-config-file), webhook-kubeconfig.yaml (the client
certificate and key; keep it secret) and client-ca.crt (the CA, for the
Helm chart's clientAuth.caCert). Copy them to --apiserver-dir on every
control-plane node and restart the API server before applying: with
failurePolicy Fail, a webhook that requires a certificate the API server
does not present rejects every judged request (docs/admission.md).`,
		Example: `  kordon admission install > kordon-admission.yaml
  kordon admission install --config admission.yaml --apply
  kordon admission install --cert-manager --failure-policy Ignore
  kordon admission install --client-auth-dir ./kordon-apiserver > kordon-admission.yaml`,
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
	fl.StringVar(&f.clientAuth, "client-auth-dir", "", "require the API server's client certificate, and write the API server's files (AdmissionConfiguration, kubeconfig, CA) into this new folder")
	fl.StringVar(&f.clientCN, "client-cn", install.DefaultClientCN, "common name of the API server's client certificate (with --client-auth-dir)")
	fl.StringVar(&f.apiDir, "apiserver-dir", install.DefaultAPIServerDir, "folder on the control-plane nodes that will hold the API server's files (with --client-auth-dir)")
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
	if f.clientAuth != "" {
		f.opts.ClientAuth = &install.ClientAuth{CommonName: f.clientCN, APIServerDir: f.apiDir}
	} else if cmd.Flags().Changed("client-cn") || cmd.Flags().Changed("apiserver-dir") {
		return usageErr(errors.New("--client-cn and --apiserver-dir need --client-auth-dir"))
	}
	objs, files, err := install.RenderAll(f.opts, version.Version)
	if err != nil {
		return usageErr(err)
	}
	if f.clientAuth != "" {
		if err := writeAPIServerFiles(f.clientAuth, files); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote the API server's files to %s: copy them to %s on every control-plane node, "+
			"start kube-apiserver with --admission-control-config-file=%s/%s, then apply (docs/admission.md)\n",
			f.clientAuth, f.apiDir, f.apiDir, install.AdmissionConfigFile)
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

// writeAPIServerFiles writes the API server's files into dir, a new folder
// (an existing one is refused rather than mixed with older keys); the key
// material is readable by its owner only.
func writeAPIServerFiles(dir string, files map[string][]byte) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return usageErr(fmt.Errorf("--client-auth-dir %s exists: give a new folder (install makes a new client certificate each run)", dir))
		}
		return fmt.Errorf("--client-auth-dir: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o600); err != nil {
			return fmt.Errorf("--client-auth-dir: %w", err)
		}
	}
	return nil
}
