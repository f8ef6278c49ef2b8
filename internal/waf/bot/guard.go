package bot

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Action is what a check does with a request.
type Action string

const (
	Allow Action = "allow"
	// Log reports the request and lets it through.
	Log Action = "log"
	// Challenge answers requests for HTML with the challenge page until
	// the client solves it, and blocks other requests without a solved
	// challenge.
	Challenge Action = "challenge"
	// Block answers 403 (429 for rate limits).
	Block Action = "block"
)

// severity orders actions: the strictest decision wins.
func (a Action) severity() int {
	switch a {
	case Log:
		return 1
	case Challenge:
		return 2
	case Block:
		return 3
	}
	return 0
}

// Config is a Guard's configuration. The zero value blocks scanners,
// logs headless browsers and browser anomalies, and has no rate limits and
// no challenge routes.
type Config struct {
	RateLimits []RateLimit `json:"rateLimits,omitempty"`
	// Agents maps agent classes (scanner, headless, automation, missing,
	// other) to actions. Unset classes: scanner block, headless log,
	// others allow.
	Agents map[AgentClass]Action `json:"agents,omitempty"`
	// Anomalies is the action for requests whose User-Agent claims a
	// browser that their headers contradict (default log).
	Anomalies Action `json:"anomalies,omitempty"`
	// ChallengeRoutes are path prefixes where every client must have
	// solved the challenge.
	ChallengeRoutes []string `json:"challengeRoutes,omitempty"`
	// Difficulty is the challenge's work in leading zero bits (default 16,
	// a fraction of a second in a browser; each bit doubles it).
	Difficulty int `json:"difficulty,omitempty"`
	// ChallengeTTL is how long a solved challenge lasts (default 1h).
	ChallengeTTL time.Duration `json:"challengeTTL,omitempty"`
	// Key signs challenges; at least 32 bytes. Random when empty (then
	// challenges do not survive a restart or carry across replicas).
	Key []byte `json:"-"`
	// MaxClients bounds the buckets kept per rate limit (default 100,000);
	// new clients beyond it are let through and counted.
	MaxClients int `json:"maxClients,omitempty"`
}

// Guard judges requests. It is safe for concurrent use.
type Guard struct {
	cfg    Config
	limits []*buckets
	chal   *challenger
	now    func() time.Time
}

// New checks cfg and returns a Guard; now is the clock (time.Now when
// nil).
func New(cfg Config, now func() time.Time) (*Guard, error) {
	if now == nil {
		now = time.Now
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100_000
	}
	if cfg.Difficulty == 0 {
		cfg.Difficulty = 16
	}
	if cfg.Difficulty < 1 || cfg.Difficulty > 24 {
		return nil, fmt.Errorf("challenge difficulty %d: want 1 to 24 bits", cfg.Difficulty)
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = time.Hour
	}
	if cfg.Anomalies == "" {
		cfg.Anomalies = Log
	}
	if !validAction(cfg.Anomalies) {
		return nil, fmt.Errorf("anomalies: action %q: want allow, log, challenge or block", cfg.Anomalies)
	}
	agents := map[AgentClass]Action{Scanner: Block, Headless: Log}
	for class, a := range cfg.Agents {
		switch class {
		case Scanner, Headless, Automation, Missing, Other:
		default:
			return nil, fmt.Errorf("agents: class %q: want scanner, headless, automation, missing or other", class)
		}
		if !validAction(a) {
			return nil, fmt.Errorf("agents: %s: action %q: want allow, log, challenge or block", class, a)
		}
		agents[class] = a
	}
	cfg.Agents = agents
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		_, _ = rand.Read(cfg.Key)
	} else if len(cfg.Key) < 32 {
		return nil, fmt.Errorf("challenge key of %d bytes: want at least 32", len(cfg.Key))
	}
	g := &Guard{cfg: cfg, now: now, chal: &challenger{key: cfg.Key, difficulty: cfg.Difficulty, ttl: cfg.ChallengeTTL}}
	seen := map[string]bool{}
	for i := range cfg.RateLimits {
		rl := &cfg.RateLimits[i]
		if err := rl.validate(); err != nil {
			return nil, err
		}
		if seen[rl.Name] {
			return nil, fmt.Errorf("rate limit %s: defined twice", rl.Name)
		}
		seen[rl.Name] = true
		g.limits = append(g.limits, &buckets{rate: rl.Rate, burst: float64(rl.Burst), max: cfg.MaxClients, m: map[string]*bucket{}})
	}
	return g, nil
}

func validAction(a Action) bool {
	switch a {
	case Allow, Log, Challenge, Block:
		return true
	}
	return false
}

// Check names what a decision is about; each is a check of the catalogue.
type Check string

const (
	RateLimitCheck Check = "rate-limit"
	BadAgentCheck  Check = "bad-agent"
	AnomalyCheck   Check = "header-anomaly"
	ChallengeCheck Check = "challenge"
)

// Decision is one check's finding on a request.
type Decision struct {
	Check  Check  `json:"check"`
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// Limit names the rate limit, for rate-limit decisions.
	Limit string `json:"limit,omitempty"`
}

// Verdict is the judgement of one request: every decision, and the
// strictest action among them.
type Verdict struct {
	Decisions []Decision `json:"decisions,omitempty"`
	Action    Action     `json:"action"`
	// RetryAfter is set when a rate limit blocks.
	RetryAfter time.Duration `json:"-"`
	// challenge is the challenge to send when Action is Challenge and the
	// request asks for HTML.
	challenge string
}

// Judge judges a request from the client at ip (the address the proxy
// trusts as the client's, after any X-Forwarded-For handling).
func (g *Guard) Judge(r *http.Request, ip netip.Addr) Verdict {
	now := g.now()
	var v Verdict
	add := func(d Decision) {
		v.Decisions = append(v.Decisions, d)
		if d.Action.severity() > v.Action.severity() {
			v.Action = d.Action
		}
	}
	v.Action = Allow
	class := ClassifyAgent(r.UserAgent())
	if a := g.cfg.Agents[class]; a != "" && a != Allow {
		add(Decision{Check: BadAgentCheck, Action: a, Reason: fmt.Sprintf("%s user agent %q", class, truncate(r.UserAgent(), 120))})
	}
	if class == Browser {
		if why := browserAnomaly(r); why != "" && g.cfg.Anomalies != Allow {
			add(Decision{Check: AnomalyCheck, Action: g.cfg.Anomalies, Reason: why})
		}
	}
	for i, rl := range g.cfg.RateLimits {
		if !rl.matches(r) {
			continue
		}
		if ok, retry := g.limits[i].take(rl.key(r, ip), now); !ok {
			add(Decision{Check: RateLimitCheck, Action: rl.Action, Limit: rl.Name,
				Reason: fmt.Sprintf("more than %g requests per second (burst %d) for %s", rl.Rate, rl.Burst, rl.Name)})
			if rl.Action == Block {
				v.RetryAfter = max(v.RetryAfter, retry)
			}
		}
	}
	needsChallenge := v.Action == Challenge
	for _, p := range g.cfg.ChallengeRoutes {
		if strings.HasPrefix(r.URL.Path, p) {
			needsChallenge = true
		}
	}
	if needsChallenge && v.Action != Block {
		why := "no solved challenge"
		if c, err := r.Cookie(CookieName); err == nil {
			why = g.chal.verify(c.Value, now, ip, r.UserAgent())
		}
		if why == "" {
			// Solved: a challenge asked by another check is satisfied.
			if v.Action == Challenge {
				v.Action = Log
			}
		} else {
			add(Decision{Check: ChallengeCheck, Action: Challenge, Reason: why})
			v.challenge = g.chal.issue(now, ip, r.UserAgent())
		}
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// wantsHTML reports a navigation a browser makes: GET or HEAD accepting
// text/html.
func wantsHTML(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Respond writes the answer to a request whose verdict is Block or
// Challenge (it returns false and writes nothing otherwise): 429 with
// Retry-After for a rate limit, the challenge page (403) for a
// navigation that must solve a challenge, else 403. requestID is shown
// to the client for support.
func (g *Guard) Respond(w http.ResponseWriter, r *http.Request, v Verdict, requestID string) bool {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if requestID != "" {
		h.Set("X-Request-Id", requestID)
	}
	switch {
	case v.Action == Block && v.RetryAfter > 0:
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(v.RetryAfter.Seconds()))))
		http.Error(w, "Too many requests. Request id: "+requestID, http.StatusTooManyRequests)
	case v.Action == Block:
		http.Error(w, "Forbidden. Request id: "+requestID, http.StatusForbidden)
	case v.Action == Challenge && wantsHTML(r) && v.challenge != "":
		nonce := make([]byte, 12)
		_, _ = rand.Read(nonce)
		sn := base64.RawStdEncoding.EncodeToString(nonce)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+sn+"'")
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			_, _ = w.Write(g.chal.page(v.challenge, sn, r.TLS != nil))
		}
	case v.Action == Challenge:
		http.Error(w, "Forbidden: this route needs a browser that passed the check; load a page of the site first. Request id: "+requestID, http.StatusForbidden)
	default:
		return false
	}
	return true
}

// Dropped returns, per rate limit, the clients let through untracked
// because the limit's table was full.
func (g *Guard) Dropped() map[string]uint64 {
	out := map[string]uint64{}
	for i, rl := range g.cfg.RateLimits {
		b := g.limits[i]
		b.mu.Lock()
		out[rl.Name] = b.dropped
		b.mu.Unlock()
	}
	return out
}

// The catalogue checks of the bot checks.
const (
	CheckRateLimit = "KOR-WAF-111"
	CheckBadAgent  = "KOR-WAF-112"
	CheckAnomaly   = "KOR-WAF-113"
	CheckChallenge = "KOR-WAF-114"
)

// IDs lists the catalogue checks the guard reports.
func IDs() []string { return []string{CheckRateLimit, CheckBadAgent, CheckAnomaly, CheckChallenge} }

// CatalogueID returns the catalogue check of a bot check.
func (c Check) CatalogueID() string {
	switch c {
	case RateLimitCheck:
		return CheckRateLimit
	case BadAgentCheck:
		return CheckBadAgent
	case AnomalyCheck:
		return CheckAnomaly
	}
	return CheckChallenge
}
