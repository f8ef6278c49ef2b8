package signature

import (
	"container/list"
	"sync"
	"time"
)

// cache holds verdicts by image digest and policy, least recently used
// first out, each for its time to live. Safe for concurrent use.
type cache struct {
	mu       sync.Mutex
	size     int
	ttl, neg time.Duration
	now      func() time.Time
	order    *list.List // of *cacheEntry, most recent at the front
	entries  map[string]*list.Element
}

type cacheEntry struct {
	key     string
	result  Result
	expires time.Time
}

func newCache(size int, ttl, neg time.Duration, now func() time.Time) *cache {
	if now == nil {
		now = time.Now
	}
	return &cache{size: size, ttl: ttl, neg: neg, now: now, order: list.New(), entries: map[string]*list.Element{}}
}

// get returns a copy of the cached result of key, if it has not expired.
func (c *cache) get(key string) (*Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	r := e.result
	return &r, true
}

// put caches r: for ttl when verified, for neg otherwise; a negative
// duration caches nothing.
func (c *cache) put(key string, r *Result) {
	ttl := c.ttl
	if !r.Verified {
		ttl = c.neg
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{key: key, result: *r, expires: c.now().Add(ttl)}
	if el, ok := c.entries[key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(e)
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

// len returns the number of cached results.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
