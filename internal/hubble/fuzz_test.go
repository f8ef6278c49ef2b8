package hubble

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/kordon-dev/kordon/internal/flowlog"
	"github.com/kordon-dev/kordon/internal/hubble/api/observer"
	"github.com/kordon-dev/kordon/internal/store"
)

// FuzzHandle feeds arbitrary GetFlowsResponse messages (a hostile or
// broken server) to the follower: it must never panic, and every record it
// would store must pass the store's time bounds.
func FuzzHandle(f *testing.F) {
	for _, name := range []string{"cilium-flow-response.bin", "cilium-lost-response.bin"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m observer.GetFlowsResponse
		if err := proto.Unmarshal(data, &m); err != nil {
			return
		}
		fol, err := New(Options{Addr: "x:1", Credentials: insecure.NewCredentials(), Normalizer: &flowlog.Normalizer{History: flowlog.NewHistory()},
			Append: func(context.Context, []store.Record) error { return nil }, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		r := &resume{seen: map[uint64]struct{}{}, overlap: time.Second}
		var b batch
		fol.handle(&m, &b, r)
		fol.handle(&m, &b, r) // twice: not yet stored, so not a duplicate
		for _, rec := range append(b.recs, b.gaps...) {
			if err := checkTime(rec.Event.Time, now); err != nil {
				t.Errorf("a record out of bounds would be stored: %v", err)
			}
			if rec.Event.Engine != "flow" {
				t.Errorf("engine %q", rec.Event.Engine)
			}
		}
	})
}
