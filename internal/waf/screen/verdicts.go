package screen

import (
	"strings"
	"sync"
)

// verdicts remembers the values the screen found clean, across
// transactions: the screened rules are pure functions of a value (their
// operators read nothing else and their transformations are pure), and
// whether a rule's exclusions remove a value depends on its key alone, so
// (phase, source, key, value) clean once is clean always. Browsers send
// the same User-Agent, Accept and cookie names with every request: those
// are looked up instead of evaluated.
//
// Memory is bounded: at most maxVerdicts entries of at most
// maxVerdictBytes each, in two generations (the older is dropped when the
// newer fills up, so values in use stay). Only clean verdicts are kept:
// a value that may match sends the transaction to the full rule set
// anyway.
type verdicts struct {
	mu       sync.Mutex
	cur, old map[verdictKey]struct{}
}

type verdictKey struct {
	phase      int8
	source     int32
	key, value string
}

const (
	maxVerdicts     = 1 << 16
	maxVerdictBytes = 512
)

// cacheable reports whether a value with key is small enough to keep.
func cacheable(key, value string) bool {
	return len(key)+len(value) <= maxVerdictBytes
}

// clean reports whether k was found clean before.
func (c *verdicts) clean(k verdictKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return true
	}
	if _, ok := c.old[k]; ok {
		c.insert(k)
		return true
	}
	return false
}

// add records k as clean. The strings are copied: Coraza's may live in
// buffers it reuses.
func (c *verdicts) add(k verdictKey) {
	k.key, k.value = strings.Clone(k.key), strings.Clone(k.value)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(k)
}

func (c *verdicts) insert(k verdictKey) {
	if c.cur == nil || len(c.cur) >= maxVerdicts/2 {
		c.old, c.cur = c.cur, make(map[verdictKey]struct{}, maxVerdicts/2)
	}
	c.cur[k] = struct{}{}
}
