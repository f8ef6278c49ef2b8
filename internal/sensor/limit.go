package sensor

import (
	"time"
)

// limiter is a token bucket per key, bounded in keys.
type limiter struct {
	rate, burst float64
	max         int
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64, max int) *limiter {
	return &limiter{rate: rate, burst: burst, max: max, buckets: map[string]*bucket{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			clear(l.buckets)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
