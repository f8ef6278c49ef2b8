package store

import (
	"context"
	"log/slog"
	"time"
)

// RetainEvery applies the retention bounds to st now and then every
// interval until ctx is done, logging what it removed and any error (a
// failed round is retried at the next one).
func RetainEvery(ctx context.Context, st Store, r Retention, interval time.Duration, log *slog.Logger) {
	if r.MaxAge <= 0 && r.MaxBytes <= 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := st.Retain(ctx, r, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention", "err", err, "removed", n)
		case n > 0:
			log.Info("retention", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
