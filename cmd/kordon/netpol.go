package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

func newNetpolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "netpol",
		Short: "Analyse, lint, diff, compile and learn Kubernetes NetworkPolicies",
		Long: `Kordon's network-security tools: who can reach whom under the NetworkPolicies
of manifests or a live cluster, why a connection is allowed or denied,
findings about policies, the semantic difference between two configurations,
a friendly group-to-group policy format compiled to native NetworkPolicies,
and least-privilege policies learned from observed flows.

See docs/netpol.md.`,
	}
	cmd.AddCommand(newNetpolAnalyzeCmd(), newNetpolCanCmd(), newNetpolLintCmd(), newNetpolDiffCmd(), newNetpolCompileCmd(), newNetpolGenerateCmd())
	return cmd
}

// netpolInput selects where objects come from: paths or a live cluster.
type netpolInput struct {
	cluster    bool
	kubeconfig string
	context    string
}

func (in *netpolInput) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&in.cluster, "cluster", false, "read the live cluster of the kubeconfig context")
	fl.StringVar(&in.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&in.context, "context", "", "kubeconfig context (default the current context)")
}

// load reads the objects of the paths (or of the cluster) and builds the
// network model. Documents and policies that cannot be used are reported on
// stderr and left out.
func (in *netpolInput) load(cmd *cobra.Command, paths []string) (*model.Cluster, error) {
	c, problems, err := in.loadModel(cmd, paths)
	if err != nil {
		return nil, err
	}
	reportProblems(cmd.ErrOrStderr(), problems)
	return c, nil
}

// loadModel is load, returning the objects the model left out instead of
// printing them. Documents that cannot be read are still printed.
func (in *netpolInput) loadModel(cmd *cobra.Command, paths []string) (*model.Cluster, []model.Problem, error) {
	loaded, err := in.loadObjects(cmd, paths)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range loaded.Errors {
		fmt.Fprintln(cmd.ErrOrStderr(), "kordon: warning:", e)
	}
	for _, e := range loaded.Warnings {
		slog.Debug("skipped document", "problem", e)
	}
	c, problems := model.FromObjects(loaded.Objects)
	return c, problems, nil
}

// loadObjects reads the objects of the paths (or of the cluster), with the
// documents that could not be read.
func (in *netpolInput) loadObjects(cmd *cobra.Command, paths []string) (*k8s.Loaded, error) {
	if in.cluster && len(paths) > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("give either paths or --cluster, not both")}
	}
	if !in.cluster && len(paths) == 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("nothing to analyse: give files or folders, - for standard input, or --cluster")}
	}
	if in.cluster {
		objs, err := loadNetpolCluster(cmd, in)
		if err != nil {
			return nil, err
		}
		return &k8s.Loaded{Objects: objs}, nil
	}
	loaded, err := k8s.LoadPaths(cmd.Context(), paths, k8s.LoadOptions{Stdin: cmd.InOrStdin()})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return loaded, nil
}

func reportProblems(w io.Writer, problems []model.Problem) {
	for _, p := range problems {
		fmt.Fprintln(w, "kordon: warning: skipped", p.Error())
	}
}
