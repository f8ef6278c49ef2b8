package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Paging and search bounds.
const (
	defaultPage = 50
	maxPage     = 500
	maxGroups   = 500
	// searchBudget is the most records one search request reads; a search
	// that reads this many without filling a page answers with what it
	// found and a cursor to continue from.
	searchBudget = 200000
)

// FindingRow is one finding as the findings page shows it.
type FindingRow struct {
	ID          int64             `json:"id"`
	Time        time.Time         `json:"time"`
	Engine      string            `json:"engine"`
	RuleID      string            `json:"ruleID"`
	Severity    finding.Severity  `json:"severity"`
	Title       string            `json:"title"`
	Message     string            `json:"message"`
	Resource    finding.Resource  `json:"resource"`
	Location    *finding.Location `json:"location,omitempty"`
	Remediation string            `json:"remediation,omitempty"`
	Controls    []string          `json:"controls"`
	// Exception names the console exception that covers the finding.
	Exception string `json:"exception,omitempty"`
	// Action, Actor and Attributes are an event's.
	Action     string            `json:"action,omitempty"`
	Actor      *finding.Actor    `json:"actor,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// FindingsPage is the answer of GET /console/api/findings (and, with
// type=event, of the events pages).
type FindingsPage struct {
	// Total is the number of findings the filter matches (without the
	// search text), -1 when a search narrows it further.
	Total int64        `json:"total"`
	Items []FindingRow `json:"items"`
	// Next is the cursor of the next page ("" at the end).
	Next string `json:"next,omitempty"`
	// Groups answer a group-by instead of items.
	Groups []store.Group `json:"groups,omitempty"`
	// Scanned is how many records a search read.
	Scanned int `json:"scanned,omitempty"`
}

// parseFilter reads the findings filter of a request's query: severity,
// namespace, rule, kind, name, engine (each repeatable) and since (a
// duration such as 24h).
func parseFilter(v url.Values, now time.Time) (store.Filter, error) {
	f := store.Filter{Types: []store.Type{store.TypeFinding}}
	switch t := v.Get("type"); t {
	case "", "finding":
	case "event":
		f.Types = []store.Type{store.TypeEvent}
	default:
		return f, fmt.Errorf("type %q: want finding or event", t)
	}
	for _, s := range v["severity"] {
		sev, err := finding.ParseSeverity(s)
		if err != nil {
			return f, fmt.Errorf("severity: %w", err)
		}
		f.Severities = append(f.Severities, sev)
	}
	for _, p := range []struct {
		name string
		dst  *[]string
	}{{"namespace", &f.Namespaces}, {"rule", &f.RuleIDs}, {"kind", &f.Kinds}, {"name", &f.Names}, {"engine", &f.Engines}, {"action", &f.Actions}} {
		for _, s := range v[p.name] {
			if s = strings.TrimSpace(s); s != "" {
				if len(s) > 253 {
					return f, fmt.Errorf("%s: longer than 253 bytes", p.name)
				}
				*p.dst = append(*p.dst, s)
			}
		}
	}
	if s := v.Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return f, fmt.Errorf("since %q: want a duration such as 24h", s)
		}
		f.From = now.Add(-d)
	}
	return f, nil
}

var groupColumns = map[string]store.Column{
	"rule": store.ColRuleID, "severity": store.ColSeverity, "namespace": store.ColNamespace,
	"kind": store.ColKind, "name": store.ColName, "engine": store.ColEngine,
}

// cursor is where the next page starts: after the record with this time
// and ID (records are read oldest first, by time then ID).
type cursor struct {
	t  int64
	id int64
}

func parseCursor(s string) (cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	t, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return cursor{}, fmt.Errorf("cursor %q: not one this server gave", s)
	}
	return cursor{t, id}, nil
}

func (c cursor) String() string { return fmt.Sprintf("%d.%d", c.t, c.id) }

// matcher decides whether a finding is covered by a console exception.
type matcher []finding.Exception

func (s *Server) exceptionMatcher(ctx context.Context, now time.Time) (matcher, error) {
	if s.o.Exceptions == nil {
		return nil, nil
	}
	list, err := s.o.Exceptions.List(ctx, false, 10000)
	if err != nil {
		return nil, err
	}
	var m matcher
	for i := range list {
		fe := list[i].Finding()
		if fe.Validate() == nil && !fe.Expired(now) {
			m = append(m, fe)
		}
	}
	return m, nil
}

// narrow restricts a store filter to the findings the exceptions can
// cover, so that excepted=only reads those rather than every finding: no
// active exception matches nothing; when every exception names a rule,
// a namespace or a name literally (no glob, not empty), only those values
// are read, intersected with what the filter already asks. The result is
// a superset of the covered findings (each field is narrowed on its own),
// so the exact match still decides each one. Kinds are compared without
// case by exceptions and exactly by the store, so they are not narrowed.
func (m matcher) narrow(f store.Filter) store.Filter {
	f.Types = []store.Type{store.TypeFinding}
	if len(m) == 0 {
		f.None = true
		return f
	}
	for _, field := range []struct {
		dst *[]string
		of  func(*finding.Exception) string
	}{
		{&f.RuleIDs, func(e *finding.Exception) string { return e.Rule }},
		{&f.Namespaces, func(e *finding.Exception) string { return e.Namespace }},
		{&f.Names, func(e *finding.Exception) string { return e.Name }},
	} {
		var values []string
		for i := range m {
			v := field.of(&m[i])
			if v == "" || strings.ContainsAny(v, `*?[\`) {
				values = nil
				break
			}
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		if values == nil {
			continue
		}
		if len(*field.dst) > 0 {
			values = slices.DeleteFunc(values, func(v string) bool { return !slices.Contains(*field.dst, v) })
			if len(values) == 0 {
				f.None = true
			}
		}
		*field.dst = values
	}
	return f
}

func (m matcher) match(f *finding.Finding) string {
	for i := range m {
		if m[i].Matches(f) {
			return m[i].Source + ": " + m[i].Reason
		}
	}
	return ""
}

func (s *Server) findings(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	v := r.URL.Query()
	now := s.o.Now()
	f, err := parseFilter(v, now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if g := v.Get("group"); g != "" {
		col, ok := groupColumns[g]
		if !ok {
			writeError(w, http.StatusBadRequest, "group %q: want one of engine, kind, name, namespace, rule, severity", g)
			return
		}
		groups, err := s.o.Store.Count(ctx, f, []store.Column{col})
		if err != nil {
			s.fail(w, "group findings", err)
			return
		}
		var total int64
		for _, g := range groups {
			total += g.Count
		}
		writeJSON(w, http.StatusOK, FindingsPage{Total: total, Items: []FindingRow{}, Groups: groups[:min(len(groups), maxGroups)]})
		return
	}
	base := f
	limit := defaultPage
	if l := v.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > maxPage {
			writeError(w, http.StatusBadRequest, "limit %q: want 1 to %d", l, maxPage)
			return
		}
	}
	var after cursor
	if c := v.Get("cursor"); c != "" {
		if after, err = parseCursor(c); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		f.From = time.Unix(0, after.t)
	}
	q := strings.ToLower(strings.TrimSpace(v.Get("q")))
	if len(q) > 200 {
		writeError(w, http.StatusBadRequest, "q: longer than 200 bytes")
		return
	}
	// excepted=only keeps the findings an active exception covers,
	// excepted=hide the others.
	excMode := v.Get("excepted")
	if excMode != "" && excMode != "only" && excMode != "hide" {
		writeError(w, http.StatusBadRequest, "excepted %q: want only or hide", excMode)
		return
	}
	if excMode != "" && len(f.Types) == 1 && f.Types[0] == store.TypeEvent {
		writeError(w, http.StatusBadRequest, "excepted: exceptions cover findings, not events")
		return
	}
	filtering := q != "" || excMode != ""
	exc, err := s.exceptionMatcher(ctx, now)
	if err != nil {
		s.fail(w, "exceptions", err)
		return
	}
	if excMode == "only" {
		f = exc.narrow(f)
	}
	page := FindingsPage{Total: -1, Items: []FindingRow{}}
	if !filtering {
		groups, err := s.o.Store.Count(ctx, base, nil)
		if err != nil {
			s.fail(w, "count findings", err)
			return
		}
		page.Total = 0
		if len(groups) > 0 {
			page.Total = groups[0].Count
		}
	}
	var last cursor
	err = s.o.Store.Scan(ctx, f, 0, func(rec *store.Record) error {
		t := rec.Event.Time.UnixNano()
		if t == after.t && rec.ID <= after.id {
			return nil
		}
		if filtering {
			page.Scanned++
			if page.Scanned > searchBudget {
				page.Next = last.String()
				return store.ErrStop
			}
			keep := q == "" || matchText(&rec.Event, q)
			if keep && excMode != "" {
				covered := rec.Type == store.TypeFinding && exc.match(&rec.Event.Finding) != ""
				keep = covered == (excMode == "only")
			}
			if !keep {
				last = cursor{t, rec.ID}
				return nil
			}
		}
		if len(page.Items) == limit {
			page.Next = last.String()
			return store.ErrStop
		}
		last = cursor{t, rec.ID}
		page.Items = append(page.Items, s.row(rec, exc))
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrStop) {
		s.fail(w, "read findings", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// matchText reports whether the finding's rule, title, message or
// resource holds q (lower case).
func matchText(e *finding.Event, q string) bool {
	for _, s := range []string{e.RuleID, e.Title, e.Message, e.Resource.Namespace, e.Resource.Name, e.Resource.Kind} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	if a := e.Actor; a != nil {
		for _, s := range []string{a.User, a.Address, a.Process} {
			if strings.Contains(strings.ToLower(s), q) {
				return true
			}
		}
	}
	for _, v := range e.Attributes {
		if strings.Contains(strings.ToLower(v), q) {
			return true
		}
	}
	return false
}

func (s *Server) row(rec *store.Record, exc matcher) FindingRow {
	e := &rec.Event
	row := FindingRow{ID: rec.ID, Time: e.Time, Engine: e.Engine, RuleID: e.RuleID, Severity: e.Severity, Title: e.Title, Message: e.Message,
		Resource: e.Resource, Location: e.Location, Remediation: e.Remediation, Controls: slices.Clone(e.Controls)}
	if row.Controls == nil {
		row.Controls = []string{}
	}
	if s.o.Catalogue != nil {
		if rule, ok := s.o.Catalogue.Lookup(e.RuleID); ok {
			if row.Title == "" {
				row.Title = rule.Title
			}
			if row.Remediation == "" {
				row.Remediation = rule.Remediation
			}
		}
	}
	if rec.Type == store.TypeFinding {
		row.Exception = exc.match(&e.Finding)
	}
	row.Action, row.Actor, row.Attributes = e.Action, e.Actor, e.Attributes
	return row
}
