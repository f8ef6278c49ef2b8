package main

import (
	"context"
	"log/slog"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// loadClusterInput reads the objects of a live cluster and names the target
// for the report header.
func loadClusterInput(ctx context.Context, f *scanFlags) (*k8s.Loaded, string, error) {
	loaded, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{
		Kubeconfig: f.kubeconfig,
		Context:    f.context,
		Namespace:  f.namespace,
		// Skipped kinds are listed in the report's warnings.
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, "", err
	}
	target := "cluster"
	if f.context != "" {
		target += " " + f.context
	}
	if f.namespace != "" {
		target += " namespace " + f.namespace
	}
	return loaded, target, nil
}
