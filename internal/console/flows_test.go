package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
	"github.com/kordon-dev/kordon/internal/store"
)

// flowEvents makes the Flow events of observed connections between
// workloads as the flow log ingestion does (flowlog's normalizer), count
// times each, an hour before the test clock.
func flowEvents(pairs [][2]*model.Workload, count int) []store.Record {
	return flowEventsPorts(pairs, nil, count)
}

// flowEventsPorts is flowEvents with a destination port per pair (8080
// where ports is shorter).
func flowEventsPorts(pairs [][2]*model.Workload, ports []int32, count int) []store.Record {
	n := flowlog.Normalizer{}
	end := func(w *model.Workload, i int) flow.End {
		if w == nil {
			return flow.End{IP: netip.MustParseAddr("203.0.113.9")}
		}
		return flow.End{Namespace: w.Namespace, Name: fmt.Sprintf("%s-7d9f-%d", w.Name, i), Workload: w.Name, Kind: w.Kind,
			IP: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})}
	}
	var recs []store.Record
	for i, p := range pairs {
		port := int32(8080)
		if i < len(ports) {
			port = ports[i]
		}
		for j := range count {
			e := n.FromFlow(flow.Flow{Src: end(p[0], i), Dst: end(p[1], i+1), Protocol: portset.TCP, Port: port,
				Time: testNow.Add(-time.Hour).Add(time.Duration(j) * time.Second), Verdict: "FORWARDED"}, flowlog.FormatHubble)
			recs = append(recs, store.Record{Type: store.TypeEvent, Event: e})
		}
	}
	return recs
}

// TestMapObservedFlows overlays flows stored as the flow ingestion writes
// them on the map and checks each edge's state against the trace of the
// same connection (the `kordon netpol can` explanation).
func TestMapObservedFlows(t *testing.T) {
	fx := newFixture(t, 10)
	// The namespace whose first 8 workloads may talk to each other most.
	byNS := map[string][]*model.Workload{}
	for i := range fx.Cluster.Workloads {
		w := &fx.Cluster.Workloads[i]
		if len(byNS[w.Namespace]) < 8 {
			byNS[w.Namespace] = append(byNS[w.Namespace], w)
		}
	}
	busiest, most := "", -1
	for ns, list := range byNS {
		n := 0
		for _, a := range list {
			for _, b := range list {
				if _, ok, _ := fx.Srv.o.Map.Trace(a.ID(), b.ID(), ""); ok && a != b {
					n++
				}
			}
		}
		if n > most || (n == most && ns < busiest) {
			busiest, most = ns, n
		}
	}
	ws := byNS[busiest]
	var pairs [][2]*model.Workload
	for _, a := range ws {
		for _, b := range ws {
			if a != b {
				pairs = append(pairs, [2]*model.Workload{a, b})
			}
		}
	}
	pairs = append(pairs, [2]*model.Workload{nil, ws[0]}) // from outside
	// Every other pair uses a port its policies allow, when there is one.
	ports := make([]int32, len(pairs))
	for i, p := range pairs {
		ports[i] = 8080
		if p[0] == nil || i%2 == 1 {
			continue
		}
		raw, _, err := fx.Srv.o.Map.Trace(p[0].ID(), p[1].ID(), "")
		if err != nil {
			t.Fatal(err)
		}
		var tr struct{ AllowedPorts []string }
		if err := json.Unmarshal(raw, &tr); err != nil {
			t.Fatal(err)
		}
		for _, ap := range tr.AllowedPorts {
			var n int32
			if _, err := fmt.Sscanf(strings.ToLower(ap), "tcp/%d", &n); err == nil && n > 0 {
				ports[i] = n
				break
			}
		}
	}
	recs := flowEventsPorts(pairs, ports, 2)
	// A flow between pods of no known workload, and an old flow outside
	// the window.
	ghost := flowEvents([][2]*model.Workload{{{Namespace: "nope", Name: "ghost", Kind: "Deployment"}, ws[0]}}, 1)
	old := flowEvents([][2]*model.Workload{{ws[0], ws[1]}}, 1)
	old[0].Event.Time = testNow.Add(-48 * time.Hour)
	// The store's generated flows name addresses only (never a workload).
	window := func(d time.Duration) int {
		g, err := fx.Store.Count(context.Background(), store.Filter{From: testNow.Add(-d), Types: []store.Type{store.TypeEvent}, Engines: []string{"flow"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(g) == 0 {
			return 0
		}
		return int(g[0].Count)
	}
	base, base72 := window(24*time.Hour), window(72*time.Hour)
	if err := fx.Store.Append(context.Background(), append(append(recs, ghost...), old...)); err != nil {
		t.Fatal(err)
	}
	c := login(t, fx.URL, viewerToken)
	var v MapView
	c.get(t, "/console/api/map?namespace="+url.QueryEscape(busiest), &v)
	if v.Observed == nil || v.Observed.Flows != base+len(recs)+1 || v.Observed.Unattributed != base+1 {
		t.Fatalf("observed %+v, want %d flows, %d unattributed", v.Observed, base+len(recs)+1, base+1)
	}
	edges := map[[2]string]int{}
	for i, e := range v.Edges {
		edges[[2]string{e.Src, e.Dst}] = i
		if e.State == "" {
			t.Errorf("edge %s → %s has no state", e.Src, e.Dst)
		}
	}
	denied := 0
	for i, p := range pairs {
		src, dst := "external", p[1].ID()
		traceSrc := "203.0.113.9"
		if p[0] != nil {
			src, traceSrc = p[0].ID(), p[0].ID()
		}
		_, allowed, err := fx.Srv.o.Map.Trace(traceSrc, dst, fmt.Sprintf("tcp/%d", ports[i]))
		if err != nil {
			t.Fatal(err)
		}
		i, ok := edges[[2]string{src, dst}]
		if !ok {
			t.Errorf("no edge %s → %s", src, dst)
			continue
		}
		e := v.Edges[i]
		want := map[bool]string{true: "observed", false: "denied"}[allowed]
		if p[0] == nil {
			// Traffic from outside is aggregated with every address.
			if e.Flows < 2 {
				t.Errorf("external → %s: %d flows", dst, e.Flows)
			}
			continue
		}
		if e.State != want || e.Flows != 2 || (e.Denied == 2) != !allowed {
			t.Errorf("%s → %s: state %s, %d flows, %d denied; the trace says allowed=%v", src, dst, e.State, e.Flows, e.Denied, allowed)
		}
		if !allowed {
			denied++
		}
	}
	t.Logf("%s: %d observed pairs, %d would be denied", busiest, len(pairs)-1, denied)
	if denied == 0 || denied == len(pairs)-1 {
		t.Errorf("want both allowed and denied observed pairs, got %d denied of %d", denied, len(pairs)-1)
	}
	for _, n := range v.Nodes {
		if n.Namespace == "" {
			continue
		}
		seen := false
		for _, w := range ws {
			seen = seen || w.ID() == n.ID
		}
		if n.Observed == nil || *n.Observed != seen {
			t.Errorf("node %s: observed %v, want %v", n.ID, n.Observed, seen)
		}
	}
	// Allowed edges without flows stay "allowed".
	allowedOnly := 0
	for _, e := range v.Edges {
		if e.Flows == 0 {
			allowedOnly++
			if e.State != "allowed" || e.Pairs == 0 {
				t.Errorf("edge %s → %s without flows: state %s, %d pairs", e.Src, e.Dst, e.State, e.Pairs)
			}
		}
	}
	if allowedOnly == 0 {
		t.Error("no allowed-never-observed edge")
	}
	// The namespace level adds up the same flows.
	var top MapView
	c.get(t, "/console/api/map", &top)
	for _, e := range top.Edges {
		if e.Src == busiest && e.Dst == busiest && (e.Flows != 2*(len(pairs)-1) || e.Denied != 2*denied) {
			t.Errorf("%s → %s: %d flows, %d denied; want %d, %d", e.Src, e.Dst, e.Flows, e.Denied, 2*(len(pairs)-1), 2*denied)
		}
	}
	// Without flows: no state; a longer window reads the old flow.
	var plain MapView
	c.get(t, "/console/api/map?flows=off&namespace="+url.QueryEscape(busiest), &plain)
	if plain.Observed != nil || (len(plain.Edges) > 0 && plain.Edges[0].State != "") {
		t.Errorf("flows=off: %+v", plain.Observed)
	}
	c.get(t, "/console/api/map?flows=72h", &top)
	if top.Observed.Flows != base72+len(recs)+2 {
		t.Errorf("72h: %d flows, want %d", top.Observed.Flows, base72+len(recs)+2)
	}
	if code, _ := c.do(t, "GET", "/console/api/map?flows=forever", "", nil); code != 400 {
		t.Errorf("flows=forever: %d", code)
	}
}
