package console

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/console/netmap"
	"github.com/kordon-dev/kordon/internal/store"
)

// Bounds of the flows overlaid on the network map.
const (
	// defaultFlowWindow is how far back the map reads observed flows.
	defaultFlowWindow = 24 * time.Hour
	maxFlowWindow     = 30 * 24 * time.Hour
	// flowBudget is the most flow events one overlay reads (the newest
	// are skipped past it, and the answer says so).
	flowBudget = 500_000
	flowsTTL   = 30 * time.Second
)

// FlowStats describe the flows overlaid on a map view.
type FlowStats struct {
	// Since is the start of the window of flows read.
	Since time.Time `json:"since"`
	// Flows read; Unattributed ones name no workload of the inventory;
	// Judged distinct connections; Unjudged flows past the judging budget.
	Flows        int  `json:"flows"`
	Unattributed int  `json:"unattributed"`
	Judged       int  `json:"judged"`
	Unjudged     int  `json:"unjudged,omitempty"`
	Truncated    bool `json:"truncated,omitempty"`
}

// MapView is the answer of GET /console/api/map: one level of the map,
// with the observed flows overlaid unless ?flows=off.
type MapView struct {
	netmap.View
	Observed *FlowStats `json:"observed,omitempty"`
}

type flowOverlay struct {
	m       *netmap.Map
	at      time.Time
	window  time.Duration
	overlay *netmap.Overlay
	stats   FlowStats
}

type flowCache struct {
	mu sync.Mutex
	ov *flowOverlay
}

// flowEnd returns one end of a flow event as the overlay resolves it:
// namespace/workload when the flow names the pod's workload, else
// namespace/pod, else the address ("" when the flow says nothing).
func flowEnd(attrs map[string]string, side string) string {
	if pod := attrs[side+"Pod"]; pod != "" {
		ns, _, _ := strings.Cut(pod, "/")
		if wl := attrs[side+"Workload"]; wl != "" {
			_, name, ok := strings.Cut(wl, "/")
			if !ok {
				name = wl
			}
			return ns + "/" + name
		}
		return pod
	}
	return attrs[side]
}

// flows returns the overlay on m of the flows observed in the window,
// reused for flowsTTL while the map stays the same.
func (s *Server) flows(ctx context.Context, m *netmap.Map, window time.Duration) (*flowOverlay, error) {
	c := &s.flowCache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.o.Now()
	if ov := c.ov; ov != nil && ov.m == m && ov.window == window && now.Sub(ov.at) < flowsTTL && now.Sub(ov.at) >= 0 {
		return ov, nil
	}
	type key struct {
		src, dst, proto string
		port            int
	}
	counts := map[key]int{}
	out := &flowOverlay{m: m, at: now, window: window, stats: FlowStats{Since: now.Add(-window).UTC()}}
	f := store.Filter{From: now.Add(-window), Types: []store.Type{store.TypeEvent}, Engines: []string{"flow"}}
	read := 0
	err := s.o.Store.Scan(ctx, f, 0, func(rec *store.Record) error {
		if read++; read > flowBudget {
			out.stats.Truncated = true
			return store.ErrStop
		}
		a := rec.Event.Attributes
		port, _ := strconv.Atoi(a["dstPort"])
		counts[key{flowEnd(a, "src"), flowEnd(a, "dst"), a["protocol"], port}]++
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrStop) {
		return nil, err
	}
	flows := make([]netmap.Flow, 0, len(counts))
	for k, n := range counts {
		flows = append(flows, netmap.Flow{Src: k.src, Dst: k.dst, Protocol: k.proto, Port: k.port, Count: n})
	}
	out.overlay = m.Observe(flows, netmap.ObserveOptions{})
	o := out.overlay
	out.stats.Flows, out.stats.Unattributed, out.stats.Judged, out.stats.Unjudged = o.Flows, o.Unattributed, o.Judged, o.Unjudged
	c.ov = out
	return out, nil
}
