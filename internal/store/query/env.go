package query

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/interpreter"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Env is the CEL environment of queries: the variables a filter can use.
// Build it once with NewEnv; it is safe for concurrent use.
type Env struct {
	cel *cel.Env
}

// Variables a filter can use, with their CEL types; docs/server.md lists
// them with their meaning.
var variables = []struct {
	name string
	typ  *cel.Type
}{
	{"type", cel.StringType},
	{"time", cel.TimestampType},
	{"engine", cel.StringType},
	{"action", cel.StringType},
	{"ruleID", cel.StringType},
	{"title", cel.StringType},
	{"severity", cel.StringType},
	{"severityRank", cel.IntType},
	{"controls", cel.ListType(cel.StringType)},
	{"resource", cel.MapType(cel.StringType, cel.StringType)},
	{"message", cel.StringType},
	{"remediation", cel.StringType},
	{"file", cel.StringType},
	{"line", cel.IntType},
	{"actor", cel.MapType(cel.StringType, cel.StringType)},
	{"groups", cel.ListType(cel.StringType)},
	{"attributes", cel.MapType(cel.StringType, cel.StringType)},
}

// NewEnv builds the query environment.
func NewEnv() (*Env, error) {
	opts := make([]cel.EnvOption, 0, len(variables))
	for _, v := range variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("query environment: %w", err)
	}
	return &Env{cel: e}, nil
}

// activation resolves a filter's variables from a record without building
// a map per record.
type activation struct{ r *store.Record }

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	e := &a.r.Event
	switch name {
	case "type":
		return a.r.Type.String(), true
	case "time":
		return e.Time, true
	case "engine":
		return e.Engine, true
	case "action":
		return e.Action, true
	case "ruleID":
		return e.RuleID, true
	case "title":
		return e.Title, true
	case "severity":
		return e.Severity.String(), true
	case "severityRank":
		return int64(e.Severity), true
	case "controls":
		return nonNil(e.Controls), true
	case "resource":
		return map[string]string{"apiVersion": e.Resource.APIVersion, "kind": e.Resource.Kind,
			"namespace": e.Resource.Namespace, "name": e.Resource.Name}, true
	case "message":
		return e.Message, true
	case "remediation":
		return e.Remediation, true
	case "file":
		if e.Location == nil {
			return "", true
		}
		return e.Location.File, true
	case "line":
		if e.Location == nil {
			return int64(0), true
		}
		return int64(e.Location.Line), true
	case "actor":
		// Every key is present (empty when unknown), so that a filter
		// on one never fails on records without it.
		var act finding.Actor
		if e.Actor != nil {
			act = *e.Actor
		}
		return map[string]string{"user": act.User, "address": act.Address, "process": act.Process}, true
	case "groups":
		if e.Actor == nil {
			return []string{}, true
		}
		return nonNil(e.Actor.Groups), true
	case "attributes":
		if e.Attributes == nil {
			return map[string]string{}, true
		}
		return e.Attributes, true
	}
	return nil, false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Record is a stored record in query results: its ID and type, then the
// Event's fields inlined (a finding has no action).
type Record struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	finding.Event
}

func newRecord(r *store.Record) Record {
	e := r.Event
	e.Controls = slices.Clone(e.Controls)
	if e.Controls == nil {
		e.Controls = []string{}
	}
	return Record{ID: r.ID, Type: r.Type.String(), Event: e}
}

// MarshalJSON keeps the field order id, type, then the event's.
func (r Record) MarshalJSON() ([]byte, error) {
	ev, err := json.Marshal(r.Event)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}{r.ID, r.Type})
	if err != nil {
		return nil, err
	}
	if len(ev) <= 2 {
		return head, nil
	}
	out := append(head[:len(head)-1], ',')
	return append(out, ev[1:]...), nil
}

// matchesFilter evaluates a pushed-down filter on one record, as a back
// end would.
func matchesFilter(f *store.Filter, r *store.Record) bool {
	e := &r.Event
	if f.None {
		return false
	}
	if !f.From.IsZero() && e.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.Time.Before(f.To) {
		return false
	}
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	switch {
	case len(f.Types) > 0 && !slices.Contains(f.Types, r.Type),
		!in(f.Engines, e.Engine), !in(f.Actions, e.Action), !in(f.RuleIDs, e.RuleID),
		!in(f.Namespaces, e.Resource.Namespace), !in(f.Kinds, e.Resource.Kind), !in(f.Names, e.Resource.Name),
		len(f.Severities) > 0 && !slices.Contains(f.Severities, e.Severity),
		f.MinSeverity != nil && e.Severity < *f.MinSeverity,
		f.MaxSeverity != nil && e.Severity > *f.MaxSeverity:
		return false
	}
	for k, vs := range f.Attributes {
		if v, ok := e.Attributes[k]; !ok || !slices.Contains(vs, v) {
			return false
		}
	}
	return true
}
