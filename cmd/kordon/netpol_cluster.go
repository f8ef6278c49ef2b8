package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// loadNetpolCluster reads the objects of a live cluster.
func loadNetpolCluster(_ *cobra.Command, _ *netpolInput) ([]*k8s.Object, error) {
	return nil, usageErr(fmt.Errorf("--cluster: live cluster loading is not wired yet"))
}
