package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validation"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// inputFlags are the flags of every command that reads Kubernetes objects:
// paths (files, folders, Helm charts, kustomizations, - for standard input)
// with the Helm options and the limits that make an untrusted repository
// safe to read, or a live cluster. kordon scan and the netpol commands
// share them.
type inputFlags struct {
	helm        k8s.HelmOptions
	maxFileSize int64
	allowRemote bool
	cluster     bool
	kubeconfig  string
	context     string
	namespace   string
	allNS       bool
	oneCluster  bool
	exclude     []string
}

func (in *inputFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&in.helm.ValuesFiles, "values", "f", nil, "Helm values file for charts (repeatable)")
	fl.StringArrayVar(&in.helm.Set, "set", nil, "Helm value for charts, key=value (repeatable)")
	fl.StringArrayVar(&in.helm.SetString, "set-string", nil, "Helm string value for charts, key=value (repeatable)")
	fl.StringVar(&in.helm.ReleaseName, "release-name", "release", "Helm release name charts are rendered with")
	fl.StringVar(&in.helm.Namespace, "release-namespace", "default", "namespace charts are rendered and judged in, where their objects that name none go (default --namespace when given, as helm -n, else \"default\")")
	fl.DurationVar(&in.helm.Timeout, "helm-timeout", k8s.DefaultHelmTimeout, "time budget to render one Helm chart; a chart still rendering then is an input error")
	fl.Var(newSizeValue(&in.helm.MaxOutput, k8s.DefaultHelmMaxOutput), "helm-max-output", "size budget of the manifests one Helm chart renders (such as 512Ki, 64Mi, 1Gi); a larger output is an input error")
	fl.Var(newSizeValue(&in.maxFileSize, k8s.DefaultMaxFileSize), "max-file-size", "largest file (or standard input) read (such as 512Ki, 64Mi, 1Gi); a larger one is an input error")
	fl.BoolVar(&in.allowRemote, "allow-remote", false, "let kustomize fetch remote bases and resources (HTTP, and git repositories with the git program) and Helm read values files from URLs; without it reading uses no network and runs no program")
	fl.BoolVar(&in.cluster, "cluster", false, "read the live cluster of the kubeconfig context instead of paths")
	fl.StringVar(&in.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&in.context, "context", "", "kubeconfig context (default the current context)")
	fl.StringVarP(&in.namespace, "namespace", "n", "", "namespace the paths are applied to, as kubectl apply -n: namespaced objects that name none are judged there (default \"default\"); with --cluster: only this namespace (cluster-scoped objects are still read)")
	fl.BoolVarP(&in.allNS, "all-namespaces", "A", false, "with --cluster: every namespace (the default)")
	fl.BoolVar(&in.oneCluster, "one-cluster", false, "judge all paths as one cluster: cross-object checks (RBAC bindings, NetworkPolicy isolation) see the objects of every chart, kustomization and path together, instead of each unit on its own")
	fl.StringArrayVar(&in.exclude, "exclude", nil, "glob of files and folders not to read, relative to each path or a base name, ** for any depth (such as 'vendor/**', '**/*_test.yaml'); repeatable")
}

// check returns a usage error for flags that do not go together.
func (in *inputFlags) check(paths []string) error {
	switch {
	case in.cluster && len(paths) > 0:
		return fmt.Errorf("give either paths or --cluster, not both")
	case in.allNS && in.namespace != "":
		return fmt.Errorf("--all-namespaces and --namespace exclude each other")
	case in.allNS && !in.cluster:
		return fmt.Errorf("--all-namespaces goes with --cluster (paths are applied to one namespace, --namespace)")
	case !in.cluster && (in.context != "" || in.kubeconfig != ""):
		return fmt.Errorf("--context and --kubeconfig go with --cluster")
	case in.cluster && (len(in.exclude) > 0 || in.oneCluster):
		return fmt.Errorf("--exclude and --one-cluster go with paths, not --cluster")
	case in.helm.Timeout <= 0:
		return fmt.Errorf("--helm-timeout %s: want a positive duration", in.helm.Timeout)
	}
	if in.namespace != "" {
		if errs := validation.ValidateNamespaceName(in.namespace, false); len(errs) > 0 {
			return fmt.Errorf("--namespace %q: %s", in.namespace, strings.Join(errs, "; "))
		}
	}
	return nil
}

// load reads the objects of the paths, or of the cluster with --cluster,
// and names the target for a report header. Problems with parts of the
// input (a broken document, chart or kustomization, a file too large) are
// in the result for the caller to report; the error is for input that
// cannot be used at all: a path that does not exist, a cluster that cannot
// be reached, ctx done — and paths that hold no Kubernetes object at all
// (an empty or wrong folder, empty standard input), which must not pass as
// a clean result. The warnings that explain the latter are printed first.
func (in *inputFlags) load(ctx context.Context, cmd *cobra.Command, paths []string) (*k8s.Loaded, string, error) {
	if err := in.check(paths); err != nil {
		return nil, "", err
	}
	if !in.cluster && len(paths) == 0 {
		return nil, "", fmt.Errorf("nothing to read: give files or folders, - for standard input, or --cluster")
	}
	if in.cluster {
		return in.loadCluster(ctx)
	}
	helm := in.helm
	if in.namespace != "" && !cmd.Flags().Changed("release-namespace") {
		helm.Namespace = in.namespace // as helm template -n
	}
	loaded, err := k8s.LoadPaths(ctx, paths, k8s.LoadOptions{
		Stdin:       cmd.InOrStdin(),
		Helm:        helm,
		MaxFileSize: in.maxFileSize,
		AllowRemote: in.allowRemote,
		Namespace:   in.namespace,
		Exclude:     in.exclude,
		OneCluster:  in.oneCluster,
	})
	if err != nil {
		return nil, "", err
	}
	if len(loaded.Objects) == 0 && len(loaded.Errors) == 0 {
		for _, w := range loaded.Warnings {
			fmt.Fprintln(cmd.ErrOrStderr(), "kordon: warning:", w)
		}
		return nil, "", fmt.Errorf("no Kubernetes objects found in %s: give files or folders of manifests, Helm charts or kustomizations", describePaths(paths))
	}
	return loaded, strings.Join(paths, " "), nil
}

// loadCluster reads the objects of a live cluster and names the target.
func (in *inputFlags) loadCluster(ctx context.Context) (*k8s.Loaded, string, error) {
	loaded, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{
		Kubeconfig: in.kubeconfig,
		Context:    in.context,
		Namespace:  in.namespace,
		// Skipped kinds are in the result's warnings.
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, "", fmt.Errorf("--cluster: %w", err)
	}
	target := "cluster"
	if in.context != "" {
		target += " " + in.context
	}
	if in.namespace != "" {
		target += " namespace " + in.namespace
	}
	return loaded, target, nil
}

// describePaths names the paths a user gave, for messages.
func describePaths(paths []string) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		if p == "-" {
			names[i] = "standard input"
		} else {
			names[i] = fmt.Sprintf("%q", p)
		}
	}
	return strings.Join(names, ", ")
}

// sizeValue is a flag holding a size in bytes, written as a Kubernetes
// quantity (64Mi, 512Ki, 1Gi) or a number of bytes.
type sizeValue struct{ p *int64 }

func newSizeValue(p *int64, def int64) sizeValue {
	*p = def
	return sizeValue{p}
}

func (v sizeValue) String() string {
	if v.p == nil {
		return "0"
	}
	return resource.NewQuantity(*v.p, resource.BinarySI).String()
}

func (v sizeValue) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	n, ok := q.AsInt64()
	if err != nil || !ok || n <= 0 {
		return fmt.Errorf("want a positive size such as 64Mi, 1Gi or a number of bytes")
	}
	*v.p = n
	return nil
}

func (v sizeValue) Type() string { return "size" }
