package main

import (
	"errors"
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

// netpolInput is where a netpol command reads objects from: the input
// flags of every command that reads objects (paths with their Helm options
// and limits, or a live cluster), and the count of input errors met — a
// document, chart or kustomization that could not be read. Those are
// printed as they are met; the command runs on the rest and exits with
// status 2 once it is done.
type netpolInput struct {
	inputFlags
	inputErrors int
}

// register adds the input flags to cmd and wraps the RunE it has so far:
// input errors turn a success, or findings (status 1), into status 2 after
// the command has written its output.
func (in *netpolInput) register(cmd *cobra.Command) {
	in.inputFlags.register(cmd)
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			return in.verdict(run(cmd, args))
		}
	}
}

// verdict is the command's result err, made status 2 when input errors
// were met and err is not a worse problem already.
func (in *netpolInput) verdict(err error) error {
	var ee *exitError
	if in.inputErrors == 0 || err != nil && !(errors.As(err, &ee) && ee.code == exitFindings) {
		return err
	}
	what := "input errors"
	if in.inputErrors == 1 {
		what = "input error"
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%d %s (listed above): the output leaves out what could not be read", in.inputErrors, what)}
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
	// A policy the API server would reject is left out of the analysis,
	// which then shows that traffic as open: an input error (exit 2), as
	// for a malformed document.
	in.inputErrors += len(problems)
	return c, nil
}

// loadModel is load, returning the objects the model left out instead of
// printing them. Input that cannot be read is still printed: errors (also
// counted for the exit status) and skipped files; documents that are not
// Kubernetes objects only at debug level.
func (in *netpolInput) loadModel(cmd *cobra.Command, paths []string) (*model.Cluster, []model.Problem, error) {
	loaded, err := in.loadObjects(cmd, paths)
	if err != nil {
		return nil, nil, err
	}
	stderr := cmd.ErrOrStderr()
	for _, e := range loaded.Errors {
		fmt.Fprintln(stderr, "kordon: error:", e)
	}
	in.inputErrors += len(loaded.Errors)
	for _, w := range loaded.Warnings {
		if errors.Is(w, k8s.ErrNotObject) {
			slog.Debug("skipped document", "problem", w)
			continue
		}
		fmt.Fprintln(stderr, "kordon: warning:", w)
	}
	c, problems := model.FromObjects(loaded.Objects)
	return c, problems, nil
}

// loadObjects reads the objects of the paths (or of the cluster), with the
// input that could not be read, leaving the reporting to the caller.
func (in *netpolInput) loadObjects(cmd *cobra.Command, paths []string) (*k8s.Loaded, error) {
	if in.cluster && len(paths) > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("give either paths or --cluster, not both")}
	}
	if !in.cluster && len(paths) == 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("nothing to analyse: give files or folders, - for standard input, or --cluster")}
	}
	loaded, _, err := in.inputFlags.load(cmd.Context(), cmd, paths)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return loaded, nil
}

func reportProblems(w io.Writer, problems []model.Problem) {
	for _, p := range problems {
		fmt.Fprintln(w, "kordon: error: left out of the analysis:", p.Error())
	}
}
