package kafkaingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kordon-dev/kordon/internal/store"
)

func TestConsumeStoreCommit(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "kordon-events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("kordon-events"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produce := func(vals ...string) {
		for _, v := range vals {
			if err := prod.ProduceSync(t.Context(), &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(`{"time": "2026-03-01T10:00:00Z", "engine": "sensor", "action": "alerted", "ruleID": "KOR-RT-001", "severity": "high"}`,
		`{"engine": "sensor", "action": "exploded"}`,
		`not json`,
		`{"time": "2026-03-01T10:00:01Z", "engine": "waf", "action": "blocked", "severity": "medium", "colour": "red"}`,
		`{"time": "2026-03-01T10:00:02Z", "engine": "waf", "action": "blocked", "severity": "medium"}`)

	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	consume := func(want int) []store.Record {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var mu sync.Mutex
		var got []store.Record
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Options{Brokers: c.ListenAddrs(), Topics: []string{"kordon-events"}, Group: "kordon", Now: func() time.Time { return now },
				Append: func(_ context.Context, recs []store.Record) error {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, recs...)
					return nil
				}})
		}()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumed %d records, want %d", n, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Let the offsets be committed, then stop.
		time.Sleep(500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	got := consume(2)
	if len(got) != 2 || got[0].Event.Engine == got[1].Event.Engine && got[0].Event.Engine != "waf" {
		t.Fatalf("stored %+v", got)
	}
	// The group's offsets were committed after storing: a new consumer of
	// the group reads only what came since.
	produce(`{"time": "2026-03-01T11:00:00Z", "engine": "intel", "action": "alerted", "severity": "critical"}`)
	again := consume(1)
	if len(again) != 1 || again[0].Event.Engine != "intel" {
		t.Errorf("after restart: %+v", again)
	}
}
