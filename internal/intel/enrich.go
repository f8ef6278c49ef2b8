package intel

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Enricher checks events against the current indicator set. The set can
// be replaced while it runs (feeds refreshed on a schedule); it is safe
// for concurrent use.
type Enricher struct {
	set atomic.Pointer[Set]
}

// NewEnricher returns an enricher with an empty set.
func NewEnricher() *Enricher {
	e := &Enricher{}
	e.set.Store(NewSet())
	return e
}

// Replace makes s the set later calls match against.
func (e *Enricher) Replace(s *Set) { e.set.Store(s) }

// Set returns the current set.
func (e *Enricher) Set() *Set { return e.set.Load() }

// addressFields are the attributes that hold addresses, and nameFields
// those that hold domain names, in the events of Kordon's engines.
var (
	addressFields = []string{"src", "dst"}
	nameFields    = []string{"domain", "host", "query", "sni"}
)

// Enrich checks each event (not findings, not intel events) against the
// indicators: its attributes src and dst and its actor's address as
// addresses, its attributes domain, host, query and sni as domain names,
// its attribute url as a URL. A matching event gets the attributes
// intel.indicator, intel.feed and intel.severity (of its first match), and
// each match adds one intel event to the returned records: engine intel,
// action alerted, check KOR-INTEL-001, the feed's severity, the matched
// event's time and resource.
func (e *Enricher) Enrich(recs []store.Record) []store.Record {
	s := e.set.Load()
	if s.Len() == 0 {
		return nil
	}
	var out []store.Record
	for i := range recs {
		r := &recs[i]
		ev := &r.Event
		if r.Type != store.TypeEvent || ev.Engine == "intel" {
			continue
		}
		matched := false
		hit := func(field, value string, ind *Indicator) {
			if !matched {
				matched = true
				if ev.Attributes == nil {
					ev.Attributes = map[string]string{}
				}
				ev.Attributes["intel.indicator"] = ind.Value
				ev.Attributes["intel.feed"] = ind.Feed
				ev.Attributes["intel.severity"] = ind.Severity.String()
			}
			out = append(out, store.Record{Type: store.TypeEvent, Event: matchEvent(ev, field, value, ind)})
		}
		for _, f := range addressFields {
			if v, ok := ev.Attributes[f]; ok {
				if a, err := netip.ParseAddr(v); err == nil {
					if ind := s.MatchIP(a); ind != nil {
						hit(f, v, ind)
					}
				}
			}
		}
		if ev.Actor != nil && ev.Actor.Address != "" {
			if a, err := netip.ParseAddr(ev.Actor.Address); err == nil {
				if ind := s.MatchIP(a); ind != nil {
					hit("actor.address", ev.Actor.Address, ind)
				}
			}
		}
		for _, f := range nameFields {
			if v, ok := ev.Attributes[f]; ok && v != "" {
				if ind := s.MatchDomain(v); ind != nil {
					hit(f, v, ind)
				}
			}
		}
		if v, ok := ev.Attributes["url"]; ok && v != "" {
			if ind := s.MatchURL(v); ind != nil {
				hit("url", v, ind)
			}
		}
	}
	return out
}

func matchEvent(ev *finding.Event, field, value string, ind *Indicator) finding.Event {
	attrs := map[string]string{
		"indicator": ind.Value, "indicatorType": ind.Type, "feed": ind.Feed,
		"field": field, "value": value, "matchedEngine": ev.Engine,
	}
	if ind.Description != "" {
		attrs["description"] = ind.Description
	}
	for _, k := range []string{"src", "dst", "dstPort", "protocol"} {
		if v := ev.Attributes[k]; v != "" {
			attrs[k] = v
		}
	}
	msg := fmt.Sprintf("%s %s (%s event) matches indicator %s of feed %s", field, value, ev.Engine, ind.Value, ind.Feed)
	if ind.Description != "" {
		msg += ": " + ind.Description
	}
	return finding.Event{
		Time: ev.Time, Engine: "intel", Action: finding.ActionAlerted, Actor: ev.Actor,
		Finding: finding.Finding{
			RuleID: RuleID, Title: "Traffic or activity matching a threat-intelligence indicator",
			Severity: ind.Severity, Controls: []string{}, Resource: ev.Resource, Message: msg,
			Remediation: "Investigate the workload: find what made the connection or request, and block the address or name at the egress if it is not needed.",
		},
		Attributes: attrs,
	}
}
