// Package kafkaingest feeds the store from Kafka: a consumer group reads
// topics of Events (one JSON event a record, the body of the HTTP API's
// events), stores them in batches with the API's checks and enrichment,
// and commits offsets only after the batch is stored, so a restart never
// loses records (it may store a batch twice after a crash between store
// and commit). Records that are not valid events are logged and skipped.
package kafkaingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
)

// Options configure a consumer.
type Options struct {
	Brokers []string
	Topics  []string
	Group   string
	// Append stores a batch (with enrichment and alerting), as the HTTP
	// API does.
	Append func(ctx context.Context, recs []store.Record) error
	Log    *slog.Logger
	// Now returns the current time (tests fix it).
	Now func() time.Time
}

// maxRecordBytes bounds one Kafka record's value.
const maxRecordBytes = 1 << 20

// Run consumes until ctx is done. It returns an error only when the
// client cannot be made or a batch cannot be stored.
func Run(ctx context.Context, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.ConsumeTopics(o.Topics...), kgo.ConsumerGroup(o.Group),
		kgo.DisableAutoCommit(), kgo.FetchMaxBytes(64<<20), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, part int32, err error) {
			if o.Log != nil && !errors.Is(err, context.Canceled) {
				o.Log.Error("kafka fetch", "topic", topic, "partition", part, "err", err)
			}
		})
		var recs []store.Record
		now := o.Now().UTC()
		fetches.EachRecord(func(r *kgo.Record) {
			var e finding.Event
			err := decode(r.Value, &e)
			if err == nil {
				err = httpapi.CheckEvent(&e, now)
			}
			if err != nil {
				if o.Log != nil {
					o.Log.Warn("kafka record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				}
				return
			}
			recs = append(recs, store.Record{Type: store.TypeEvent, Event: e})
		})
		if len(recs) > 0 {
			if err := o.Append(ctx, recs); err != nil {
				return fmt.Errorf("kafka: store: %w", err)
			}
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil && o.Log != nil {
			o.Log.Error("kafka commit", "err", err)
		}
	}
}

func decode(v []byte, e *finding.Event) error {
	if len(v) > maxRecordBytes {
		return fmt.Errorf("record of %d bytes, over %d", len(v), maxRecordBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	return dec.Decode(e)
}
