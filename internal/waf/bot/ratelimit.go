package bot

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// RateLimit is one limit: requests matching Methods and PathPrefix, per
// Key, at most Rate per second on average with bursts of Burst.
type RateLimit struct {
	Name string `json:"name"`
	// Methods the limit counts (all when empty).
	Methods []string `json:"methods,omitempty"`
	// PathPrefix the limit counts ("/" or empty for all paths).
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Key says what one bucket is: "ip" (the client address; IPv6 by
	// /64), "ip+route" (address and PathPrefix), or "header:NAME" (the
	// value of a header such as an API key; requests without it count by
	// address).
	Key   string  `json:"key"`
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
	// Action when the limit is exceeded: block (default, 429) or log.
	Action Action `json:"action,omitempty"`
}

func (rl *RateLimit) validate() error {
	switch {
	case rl.Name == "":
		return fmt.Errorf("rate limit without a name")
	case rl.Rate <= 0:
		return fmt.Errorf("rate limit %s: rate must be positive", rl.Name)
	case rl.Burst < 1:
		return fmt.Errorf("rate limit %s: burst must be at least 1", rl.Name)
	}
	switch {
	case rl.Key == "ip", rl.Key == "ip+route":
	case strings.HasPrefix(rl.Key, "header:") && len(rl.Key) > len("header:"):
	default:
		return fmt.Errorf("rate limit %s: key %q: want ip, ip+route or header:NAME", rl.Name, rl.Key)
	}
	switch rl.Action {
	case "":
		rl.Action = Block
	case Block, Log:
	default:
		return fmt.Errorf("rate limit %s: action %q: want block or log", rl.Name, rl.Action)
	}
	return nil
}

func (rl *RateLimit) matches(r *http.Request) bool {
	if len(rl.Methods) > 0 && !containsFold(rl.Methods, r.Method) {
		return false
	}
	return rl.PathPrefix == "" || strings.HasPrefix(r.URL.Path, rl.PathPrefix)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// clientKey is the address a client is counted by: IPv4 addresses whole,
// IPv6 ones by /64 (one subscriber usually holds a /64).
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (rl *RateLimit) key(r *http.Request, ip netip.Addr) string {
	switch {
	case rl.Key == "ip+route":
		return clientKey(ip) + " " + rl.PathPrefix
	case strings.HasPrefix(rl.Key, "header:"):
		if v := r.Header.Get(rl.Key[len("header:"):]); v != "" {
			return "h:" + v
		}
	}
	return clientKey(ip)
}

// buckets holds the token buckets of one limit, at most max of them.
type buckets struct {
	mu    sync.Mutex
	rate  float64
	burst float64
	max   int
	m     map[string]*bucket
	// swept is when the table was last swept: at most once a second, so
	// that a flood of new clients costs no more than that.
	swept time.Time
	// dropped counts clients not tracked because the table was full of
	// active clients; they are let through.
	dropped uint64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take spends a token of key's bucket at now; false when there is none.
func (b *buckets) take(key string, now time.Time) (ok bool, retry time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, found := b.m[key]
	if !found {
		if len(b.m) >= b.max && now.Sub(b.swept) >= time.Second {
			b.sweep(now)
			b.swept = now
		}
		if len(b.m) >= b.max {
			b.dropped++
			return true, 0
		}
		bk = &bucket{tokens: b.burst, last: now}
		b.m[key] = bk
	}
	if el := now.Sub(bk.last).Seconds(); el > 0 {
		bk.tokens = min(b.burst, bk.tokens+el*b.rate)
		bk.last = now
	}
	if bk.tokens >= 1 {
		bk.tokens--
		return true, 0
	}
	return false, time.Duration((1 - bk.tokens) / b.rate * float64(time.Second))
}

// sweep forgets buckets that have refilled: they are as a new client's.
func (b *buckets) sweep(now time.Time) {
	full := time.Duration(b.burst / b.rate * float64(time.Second))
	for k, bk := range b.m {
		if now.Sub(bk.last) >= full {
			delete(b.m, k)
		}
	}
}
