package governance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
)

// CreationRate flags a user who creates more than Limit objects within a
// sliding Window. It keeps, per user, the times of their admitted
// creations in memory: each replica of the webhook counts the requests it
// served, so with N replicas behind a Service a user may create up to about
// N×Limit before every replica objects. State is lost on restart.
//
// A CreationRate is safe for concurrent use.
type CreationRate struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	users map[string]*creations
	calls int
}

// creations is a ring of creation times, oldest first.
type creations struct {
	times []time.Time
}

// NewCreationRate returns the policy. now is the clock (time.Now when nil).
func NewCreationRate(cfg *config.CreationRate, now func() time.Time) *CreationRate {
	if now == nil {
		now = time.Now
	}
	return &CreationRate{limit: cfg.Limit, window: cfg.Window.Duration, now: now, users: map[string]*creations{}}
}

// ID implements Policy.
func (p *CreationRate) ID() string { return CreationRateID }

// Check implements Policy: a CREATE is a violation when the user already
// created Limit objects within the window. The built-in workload
// controllers (Propagates) are not counted: they create pods for the
// workloads users created.
func (p *CreationRate) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Operation != Create || req.DryRun || Propagates(req.User) {
		return nil, nil
	}
	p.mu.Lock()
	n := p.countLocked(req.User, p.now())
	p.mu.Unlock()
	if n < p.limit {
		return nil, nil
	}
	return []Violation{{
		ID: p.ID(),
		Message: fmt.Sprintf("user %s already created %d pods or workloads in the last %s (limit %d): unusual creation rate",
			req.User, n, p.window, p.limit),
		Remediation: "Wait until older creations leave the window, or ask the platform team to raise governance.creationRate.limit for this workload.",
	}}, nil
}

// Record implements Recorder: it counts an admitted CREATE.
func (p *CreationRate) Record(req *Request) {
	if req.Operation != Create || req.DryRun || Propagates(req.User) {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.countLocked(req.User, now)
	c := p.users[req.User]
	if c == nil {
		c = &creations{}
		p.users[req.User] = c
	}
	c.times = append(c.times, now)
	if len(c.times) > p.limit {
		// Only the newest limit times can matter for the decision.
		c.times = append(c.times[:0], c.times[len(c.times)-p.limit:]...)
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
