// Package livemap keeps the console's network map of a live cluster: it
// reads the cluster's objects through the API server (internal/k8s, the
// loader of kordon scan --cluster), analyses them into a netmap.Map, and
// does it again on a schedule, handing each new map to the console. A
// failed refresh keeps the last map and is logged; the next one tries
// again.
package livemap

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// Stats describe one build of the map.
type Stats struct {
	Workloads, Policies int
	// Warnings are kinds the loader skipped (not served, not allowed)
	// and objects left out of the map.
	Warnings []string
	Took     time.Duration
}

// Build reads the cluster and analyses it into a map. The error is for a
// cluster that cannot be read at all; skipped kinds and objects left out
// are in Stats.Warnings.
func Build(ctx context.Context, opts k8s.ClusterOptions) (*netmap.Map, Stats, error) {
	start := time.Now()
	var st Stats
	loaded, err := k8s.LoadCluster(ctx, opts)
	if err != nil {
		return nil, st, fmt.Errorf("read the cluster: %w", err)
	}
	for _, w := range loaded.Warnings {
		st.Warnings = append(st.Warnings, w.Error())
	}
	for _, e := range loaded.Errors {
		st.Warnings = append(st.Warnings, e.Error())
	}
	c, problems := model.FromObjects(loaded.Objects)
	for _, p := range problems {
		st.Warnings = append(st.Warnings, "left out of the map: "+p.Error())
	}
	m := netmap.New(c)
	st.Workloads, st.Policies, st.Took = len(c.Workloads), len(c.Policies), time.Since(start)
	return m, st, nil
}

// Refresher rebuilds the map every Interval.
type Refresher struct {
	Cluster  k8s.ClusterOptions
	Interval time.Duration
	// Set receives each new map.
	Set func(*netmap.Map)
	Log *slog.Logger
}

// Refresh builds the map once and hands it to Set.
func (r *Refresher) Refresh(ctx context.Context) error {
	m, st, err := Build(ctx, r.Cluster)
	if err != nil {
		return err
	}
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	for _, w := range st.Warnings {
		log.WarnContext(ctx, "network map", "warning", w)
	}
	log.InfoContext(ctx, "network map of the cluster", "workloads", st.Workloads, "policies", st.Policies, "took", st.Took.Round(time.Millisecond))
	r.Set(m)
	return nil
}

// Run refreshes every Interval until ctx ends; a failed refresh is
// logged and the last map kept. It returns ctx's error.
func (r *Refresher) Run(ctx context.Context) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "network map not refreshed; the last one is kept", "err", err)
			}
		}
	}
}
