package console

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Overview is the answer of GET /console/api/overview: every figure is
// an aggregation the store computes (no record is read).
type Overview struct {
	Stats      store.Stats      `json:"stats"`
	Findings   int64            `json:"findings"`
	Severity   map[string]int64 `json:"severity"`
	Frameworks []FrameworkScore `json:"frameworks"`
	Namespaces []NamespaceRisk  `json:"namespaces"`
	TopRisks   []RuleCount      `json:"topRisks"`
	Engines    []store.Group    `json:"engines"`
	Trend      []TrendDay       `json:"trend"`
	// Compliance is the compliance score of every namespace with a
	// stored finding, lowest first (at most 500).
	Compliance []NamespaceScore `json:"compliance"`
}

// NamespaceScore is a namespace's compliance: per framework and over all
// frameworks, now and per trend day.
type NamespaceScore struct {
	Namespace string `json:"namespace"`
	// Score is the share of the catalogue's framework checks (a check
	// with a control in any framework) that no finding of the namespace
	// fails, in percent.
	Score int `json:"score"`
	// Frameworks is the score per framework.
	Frameworks map[string]int `json:"frameworks"`
	// Trend is Score per trend day (null on a day without any stored
	// finding).
	Trend []*int `json:"trend"`
}

// FrameworkScore is the share of a framework's catalogue checks that no
// stored finding fails.
type FrameworkScore struct {
	Framework string `json:"framework"`
	Checks    int    `json:"checks"`
	Failing   int    `json:"failing"`
	Score     int    `json:"score"` // percent passing
	// Trend is Score per trend day, from that day's findings (null on a
	// day without any stored finding).
	Trend []*int `json:"trend"`
}

// NamespaceRisk counts a namespace's findings by severity.
type NamespaceRisk struct {
	Namespace string           `json:"namespace"`
	Findings  int64            `json:"findings"`
	Severity  map[string]int64 `json:"severity"`
	// Score is 100 less a weighted count (critical 10, high 5, medium 2,
	// low 1) per 100 findings of the busiest namespace, at least 0.
	Score int `json:"score"`
}

// RuleCount is a rule with its findings.
type RuleCount struct {
	RuleID   string           `json:"ruleID"`
	Title    string           `json:"title"`
	Severity finding.Severity `json:"severity"`
	Findings int64            `json:"findings"`
}

// TrendDay counts the findings and events of one day (UTC).
type TrendDay struct {
	Day      string `json:"day"`
	Findings int64  `json:"findings"`
	Events   int64  `json:"events"`
}

const (
	topN          = 10
	trendDays     = 14
	maxCompliance = 500
)

var weight = map[string]int64{"critical": 10, "high": 5, "medium": 2, "low": 1}

// overviewTTL is how long an overview is fresh. It aggregates every
// record (about a second for 100,000 findings), so it is computed once and
// then served at once: after overviewTTL the last one is still served
// while a new one is computed in the background.
const overviewTTL = 30 * time.Second

// overviewCache keeps the last overview.
type overviewCache struct {
	mu         sync.Mutex
	at         time.Time
	value      *Overview
	refreshing bool
}

func (s *Server) overview(ctx context.Context, w http.ResponseWriter, _ *http.Request, _ *auth.Session) {
	ov, err := s.cachedOverview(ctx)
	if err != nil {
		s.fail(w, "overview", err)
		return
	}
	writeJSON(w, http.StatusOK, ov)
}

// Warm computes the overview so that the first visitor does not wait for
// it; kordon server calls it at start-up.
func (s *Server) Warm(ctx context.Context) error {
	_, err := s.cachedOverview(ctx)
	return err
}

func (s *Server) cachedOverview(ctx context.Context) (*Overview, error) {
	c := &s.cache
	c.mu.Lock()
	now := s.o.Now()
	if c.value != nil {
		v := c.value
		if age := now.Sub(c.at); (age >= overviewTTL || age < 0) && !c.refreshing {
			c.refreshing = true
			go s.refreshOverview(context.WithoutCancel(ctx))
		}
		c.mu.Unlock()
		return v, nil
	}
	defer c.mu.Unlock() // the first computation: the others wait for it
	ov, err := s.Overview(ctx)
	if err != nil {
		return nil, err
	}
	c.at, c.value = now, ov
	return ov, nil
}

// refreshOverview computes a new overview in the background, bounded by
// the request timeout.
func (s *Server) refreshOverview(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	ov, err := s.Overview(ctx)
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		s.o.Log.Warn("console: overview refresh failed", "err", err)
		return
	}
	c.at, c.value = s.o.Now(), ov
}

// Overview computes the overview page's data.
func (s *Server) Overview(ctx context.Context) (*Overview, error) {
	st := s.o.Store
	ov := &Overview{Severity: map[string]int64{}, Frameworks: []FrameworkScore{}, Namespaces: []NamespaceRisk{}, TopRisks: []RuleCount{}, Trend: []TrendDay{},
		Compliance: []NamespaceScore{}}
	var err error
	if ov.Stats, err = st.Stats(ctx); err != nil {
		return nil, err
	}
	findings := store.Filter{Types: []store.Type{store.TypeFinding}}
	// One aggregation gives the severity totals, the namespaces and the
	// rules.
	groups, err := st.Count(ctx, findings, []store.Column{store.ColNamespace, store.ColRuleID, store.ColSeverity})
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	type ruleSev struct{ rule, sev string }
	bySevRule := map[ruleSev]int64{}
	for _, g := range groups {
		ns, rule, sev := g.Key[0], g.Key[1], g.Key[2]
		ov.Severity[sev] += g.Count
		ov.Findings += g.Count
		bySevRule[ruleSev{rule, sev}] += g.Count
		i, ok := idx[ns]
		if !ok {
			i = len(ov.Namespaces)
			idx[ns] = i
			ov.Namespaces = append(ov.Namespaces, NamespaceRisk{Namespace: ns, Severity: map[string]int64{}})
		}
		ov.Namespaces[i].Findings += g.Count
		ov.Namespaces[i].Severity[sev] += g.Count
	}
	risk := func(n *NamespaceRisk) int64 {
		var r int64
		for sev, c := range n.Severity {
			r += weight[sev] * c
		}
		return r
	}
	slices.SortFunc(ov.Namespaces, func(a, b NamespaceRisk) int {
		if ra, rb := risk(&a), risk(&b); ra != rb {
			return int(rb - ra)
		}
		return compareStrings(a.Namespace, b.Namespace)
	})
	ov.Namespaces = ov.Namespaces[:min(len(ov.Namespaces), topN)]
	if len(ov.Namespaces) > 0 {
		worst := max(risk(&ov.Namespaces[0]), 1)
		for i := range ov.Namespaces {
			ov.Namespaces[i].Score = int(100 - 100*risk(&ov.Namespaces[i])/worst)
		}
	}
	failing := map[string]bool{}
	ruleIdx := map[string]int{}
	var rules []RuleCount
	for k, n := range bySevRule {
		id := k.rule
		sev, _ := finding.ParseSeverity(k.sev)
		failing[id] = true
		i, ok := ruleIdx[id]
		if !ok {
			i = len(rules)
			ruleIdx[id] = i
			rules = append(rules, RuleCount{RuleID: id, Severity: sev})
		}
		rules[i].Findings += n
		rules[i].Severity = max(rules[i].Severity, sev)
	}
	slices.SortFunc(rules, func(a, b RuleCount) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		if a.Findings != b.Findings {
			return int(b.Findings - a.Findings)
		}
		return compareStrings(a.RuleID, b.RuleID)
	})
	for i := range rules[:min(len(rules), topN)] {
		r := rules[i]
		if s.o.Catalogue != nil {
			if cr, ok := s.o.Catalogue.Lookup(r.RuleID); ok {
				r.Title = cr.Title
			}
		}
		ov.TopRisks = append(ov.TopRisks, r)
	}
	fc := s.frameworkChecks()
	for _, name := range fc.names {
		ov.Frameworks = append(ov.Frameworks, FrameworkScore{Framework: name, Checks: fc.checks[name], Failing: fc.failing(failing)[name],
			Score: fc.score(name, failing), Trend: []*int{}})
	}
	// Per namespace: the rules its findings fail.
	nsFailing := map[string]map[string]bool{}
	for _, g := range groups {
		ns, rule := g.Key[0], g.Key[1]
		if nsFailing[ns] == nil {
			nsFailing[ns] = map[string]bool{}
		}
		nsFailing[ns][rule] = true
	}
	for ns, rules := range nsFailing {
		n := NamespaceScore{Namespace: ns, Score: fc.score("", rules), Frameworks: map[string]int{}, Trend: []*int{}}
		for _, name := range fc.names {
			n.Frameworks[name] = fc.score(name, rules)
		}
		ov.Compliance = append(ov.Compliance, n)
	}
	slices.SortFunc(ov.Compliance, func(a, b NamespaceScore) int {
		if a.Score != b.Score {
			return a.Score - b.Score
		}
		return compareStrings(a.Namespace, b.Namespace)
	})
	ov.Compliance = ov.Compliance[:min(len(ov.Compliance), maxCompliance)]
	if ov.Engines, err = st.Count(ctx, store.Filter{Types: []store.Type{store.TypeEvent}}, []store.Column{store.ColEngine}); err != nil {
		return nil, err
	}
	day := s.o.Now().UTC().Truncate(24 * time.Hour)
	for i := trendDays - 1; i >= 0; i-- {
		from := day.AddDate(0, 0, -i)
		f := store.Filter{From: from, To: from.AddDate(0, 0, 1), Types: []store.Type{store.TypeFinding}}
		groups, err := st.Count(ctx, f, []store.Column{store.ColNamespace, store.ColRuleID})
		if err != nil {
			return nil, err
		}
		f.Types = []store.Type{store.TypeEvent}
		events, err := st.Count(ctx, f, nil)
		if err != nil {
			return nil, err
		}
		d := TrendDay{Day: from.Format("2006-01-02")}
		if len(events) > 0 {
			d.Events = events[0].Count
		}
		all := map[string]bool{}
		byNS := map[string]map[string]bool{}
		for _, g := range groups {
			d.Findings += g.Count
			all[g.Key[1]] = true
			if byNS[g.Key[0]] == nil {
				byNS[g.Key[0]] = map[string]bool{}
			}
			byNS[g.Key[0]][g.Key[1]] = true
		}
		ov.Trend = append(ov.Trend, d)
		scored := func(v int) *int {
			if d.Findings == 0 {
				return nil
			}
			return &v
		}
		for j := range ov.Frameworks {
			ov.Frameworks[j].Trend = append(ov.Frameworks[j].Trend, scored(fc.score(ov.Frameworks[j].Framework, all)))
		}
		for j := range ov.Compliance {
			n := &ov.Compliance[j]
			n.Trend = append(n.Trend, scored(fc.score("", byNS[n.Namespace])))
		}
	}
	return ov, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// frameworkChecks are the catalogue's checks by framework: a check counts
// in each framework one of its controls belongs to.
type frameworkChecks struct {
	names  []string            // sorted
	checks map[string]int      // framework → checks; "" → checks with any framework
	of     map[string][]string // rule ID → its frameworks
}

func (s *Server) frameworkChecks() frameworkChecks {
	fc := frameworkChecks{checks: map[string]int{}, of: map[string][]string{}}
	if s.o.Catalogue == nil {
		return fc
	}
	for _, r := range s.o.Catalogue.Rules() {
		fws := r.Frameworks()
		if len(fws) == 0 {
			continue
		}
		fc.of[r.ID] = fws
		fc.checks[""]++
		for _, name := range fws {
			if fc.checks[name] == 0 {
				fc.names = append(fc.names, name)
			}
			fc.checks[name]++
		}
	}
	slices.Sort(fc.names)
	return fc
}

// failing counts, per framework ("" for any), the checks among the
// failing rule IDs (IDs not in the catalogue do not count).
func (fc frameworkChecks) failing(rules map[string]bool) map[string]int {
	out := map[string]int{}
	for id := range rules {
		fws, ok := fc.of[id]
		if !ok {
			continue
		}
		out[""]++
		for _, name := range fws {
			out[name]++
		}
	}
	return out
}

// score is the percentage of the framework's checks ("" for all
// framework checks) that none of the failing rules is: 100 × (checks −
// failing) / checks, rounded down; 100 for a framework without checks.
func (fc frameworkChecks) score(framework string, failing map[string]bool) int {
	n := fc.checks[framework]
	if n == 0 {
		return 100
	}
	return 100 * (n - fc.failing(failing)[framework]) / n
}
