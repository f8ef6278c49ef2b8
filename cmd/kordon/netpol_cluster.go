package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// loadNetpolCluster reads the objects of a live cluster.
func loadNetpolCluster(cmd *cobra.Command, in *netpolInput) ([]*k8s.Object, error) {
	loaded, err := k8s.LoadCluster(cmd.Context(), k8s.ClusterOptions{Kubeconfig: in.kubeconfig, Context: in.context})
	if err != nil {
		return nil, fmt.Errorf("--cluster: %w", err)
	}
	for _, e := range loaded.Errors {
		fmt.Fprintln(cmd.ErrOrStderr(), "kordon: warning:", e)
	}
	for _, e := range loaded.Warnings {
		slog.Warn("cluster resource skipped", "problem", e)
	}
	return loaded.Objects, nil
}
