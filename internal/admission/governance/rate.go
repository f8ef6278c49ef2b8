package governance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
)

// CreationRate flags a user who creates more than their limit of objects
// within a sliding window. The limit is the configuration's default Limit,
// or that of the most specific Limits entry naming the user, a group of
// theirs or their service account (config.CreationRate.LimitFor); every
// user has their own counter.
//
// What is counted: CREATE requests this replica admitted (Record is called
// once the webhook admitted the request) that are not dry runs, not made
// by the built-in workload controllers and in the policy's scope. A
// validating webhook is not told whether the object was then stored, so a
// creation another admission check or the API server rejects afterwards (a
// name already taken, a ResourceQuota, a later webhook) still counts;
// requests kordon denied, dry runs, and requests the API server refused
// before calling webhooks (invalid objects, RBAC) do not.
//
// Counters live in memory: each replica of the webhook counts the requests
// it served, so with N replicas behind a Service a user may create up to
// about N×limit before every replica objects. State is lost on restart.
//
// A CreationRate is safe for concurrent use.
type CreationRate struct {
	cfg    *config.CreationRate
	keep   int // creation times kept per user: the largest limit
	window time.Duration
	what   string // what is counted, for messages
	now    func() time.Time

	mu    sync.Mutex
	users map[string]*creations
	calls int
}

// creations is a ring of creation times, oldest first, and the limit
// that applied to the user's latest creation.
type creations struct {
	times []time.Time
	limit int
	entry int // index in cfg.Limits, -1 for the default limit
}

// NewCreationRate returns the policy. now is the clock (time.Now when nil).
func NewCreationRate(cfg *config.CreationRate, now func() time.Time) *CreationRate {
	if now == nil {
		now = time.Now
	}
	keep := cfg.Limit
	for _, l := range cfg.Limits {
		keep = max(keep, l.Limit)
	}
	what := "pods or workloads"
	if len(cfg.Kinds) > 0 {
		what = "objects of kind " + strings.Join(cfg.Kinds, ", ")
	} else if slices.ContainsFunc(cfg.Bindings, func(b config.PolicyBinding) bool { return len(b.Kinds) > 0 }) {
		what = "objects of the configured kinds"
	}
	return &CreationRate{cfg: cfg, keep: keep, window: cfg.Window.Duration, what: what, now: now, users: map[string]*creations{}}
}

// ID implements Policy.
func (p *CreationRate) ID() string { return CreationRateID }

// Check implements Policy: a CREATE is a violation when the user already
// created their limit of objects within the window. The built-in workload
// controllers (Propagates) are not counted: they create pods for the
// workloads users created.
func (p *CreationRate) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Operation != Create || req.DryRun || Propagates(req.User) {
		return nil, nil
	}
	limit, entry := p.cfg.LimitFor(req.User, req.Groups)
	p.mu.Lock()
	n := p.countLocked(req.User, p.now())
	p.mu.Unlock()
	if n < limit {
		return nil, nil
	}
	which, field := "the default limit", "governance.creationRate.limit"
	if entry >= 0 {
		which = fmt.Sprintf("limits[%d], %s", entry, p.cfg.Limits[entry].Subjects)
		field = fmt.Sprintf("governance.creationRate.limits[%d].limit", entry)
	}
	return []Violation{{
		ID: p.ID(),
		Message: fmt.Sprintf("user %s already created %d %s in the last %s (limit %d: %s): unusual creation rate "+
			"(counted: creations this webhook replica admitted, not dry runs nor denied requests; "+
			"creations the API server rejected after admission also count)",
			req.User, n, p.what, p.window, limit, which),
		Remediation: fmt.Sprintf("Wait until older creations leave the window, or ask the platform team to raise %s for this workload.", field),
	}}, nil
}

// Record implements Recorder: it counts an admitted CREATE.
func (p *CreationRate) Record(req *Request) {
	if req.Operation != Create || req.DryRun || Propagates(req.User) {
		return
	}
	now := p.now()
	limit, entry := p.cfg.LimitFor(req.User, req.Groups)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.countLocked(req.User, now)
	c := p.users[req.User]
	if c == nil {
		c = &creations{}
		p.users[req.User] = c
	}
	c.limit, c.entry = limit, entry
	c.times = append(c.times, now)
	if len(c.times) > p.keep {
		// Only the newest times up to the largest limit can matter.
		c.times = append(c.times[:0], c.times[len(c.times)-p.keep:]...)
	}
	p.calls++
	if p.calls%1024 == 0 {
		p.sweepLocked(now)
	}
}

// Counts returns, for every user with creations in the window, how many.
func (p *CreationRate) Counts() map[string]int {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked(now)
	out := make(map[string]int, len(p.users))
	for u, c := range p.users {
		out[u] = len(c.times)
	}
	return out
}

// LimitUsage is how many users one limit applies to, and how many of them
// are at or over it, in the window.
type LimitUsage struct {
	// Entry is the index of the governance.creationRate.limits entry, or
	// -1 for the default limit.
	Entry int
	// Limit is the entry's number of creations.
	Limit int
	// Users counts users with creations in the window whose latest
	// creation this limit applied to; OverLimit those of them at or over it.
	Users, OverLimit int
}

// Usage returns one LimitUsage per configured limit: the default first,
// then every limits entry in order (entries that apply to nobody now
// report zero users).
func (p *CreationRate) Usage() []LimitUsage {
	out := make([]LimitUsage, 1+len(p.cfg.Limits))
	out[0] = LimitUsage{Entry: -1, Limit: p.cfg.Limit}
	for i, l := range p.cfg.Limits {
		out[i+1] = LimitUsage{Entry: i, Limit: l.Limit}
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked(now)
	for _, c := range p.users {
		u := &out[c.entry+1]
		u.Users++
		if len(c.times) >= c.limit {
			u.OverLimit++
		}
	}
	return out
}

// countLocked drops the user's creations older than the window and returns
// how many remain.
func (p *CreationRate) countLocked(user string, now time.Time) int {
	c := p.users[user]
	if c == nil {
		return 0
	}
	cut := now.Add(-p.window)
	i := 0
	for i < len(c.times) && !c.times[i].After(cut) {
		i++
	}
	if i > 0 {
		c.times = append(c.times[:0], c.times[i:]...)
	}
	return len(c.times)
}

// sweepLocked forgets users without creations in the window.
func (p *CreationRate) sweepLocked(now time.Time) {
	for u := range p.users {
		if p.countLocked(u, now) == 0 {
			delete(p.users, u)
		}
	}
}
