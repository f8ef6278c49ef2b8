// Package store defines Kordon's store of Findings and Events: the record
// it keeps, the filter a back end evaluates natively (pushed down from a
// query), the aggregation it can answer, and the Store interface that the
// embedded SQLite back end (internal/store/sqlite) implements and that a
// ClickHouse or PostgreSQL back end can implement later.
//
// The schema every back end keeps is documented in docs/server.md.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Type says whether a record is an Event (something that happened) or a
// Finding (a state that is wrong, as reported at a time by an engine).
type Type int

// Record types. The numbers are stored; never renumber them.
const (
	TypeEvent   Type = 0
	TypeFinding Type = 1
)

// String returns "event" or "finding".
func (t Type) String() string {
	if t == TypeFinding {
		return "finding"
	}
	return "event"
}

// Record is one stored Event or Finding. A Finding is kept as an Event with
// an empty Action: Time is when it was reported and Engine the engine that
// reported it (scan, netpol-lint, admission).
type Record struct {
	// ID is assigned by the store on append, increasing in append order.
	ID    int64
	Type  Type
	Event finding.Event
}

// Filter is what a back end evaluates natively, so that a query reads only
// the records it may match. Empty fields do not filter. Every condition
// must hold (AND); a list matches any of its values (IN).
type Filter struct {
	// From is inclusive, To exclusive; zero means unbounded.
	From, To time.Time
	Types    []Type
	Engines  []string
	Actions  []string
	RuleIDs  []string
	// Namespaces, Kinds and Names compare the resource's fields.
	Namespaces []string
	Kinds      []string
	Names      []string
	// Severities are the allowed severities; MinSeverity and MaxSeverity
	// bound them (nil: unbounded).
	Severities  []finding.Severity
	MinSeverity *finding.Severity
	MaxSeverity *finding.Severity
	// Attributes restricts attributes: for each key, the record's
	// attribute must be present and one of the listed values (an empty
	// list matches nothing). Only a back end implementing NativeAttributes
	// is given Attributes, and only for the keys it lists.
	Attributes map[string][]string
	// None is set when the filter can match nothing (a contradiction found
	// while planning, such as severity == "nonsense").
	None bool
}

// NativeAttributes is implemented by a back end that also filters
// (Filter.Attributes) and groups (AttributeColumn) by some attributes
// natively, such as ones it keeps in columns of their own. The query
// language pushes conditions and groupings on those keys down to it; other
// back ends never see them. An attribute column groups a record without
// the attribute under "".
type NativeAttributes interface {
	// NativeAttributes returns the attribute keys handled natively.
	NativeAttributes() []string
}

// AttributeColumn is the column of an attribute: "attributes.KEY". Only
// back ends implementing NativeAttributes group by it, for their keys.
func AttributeColumn(key string) Column { return Column(attributePrefix + key) }

const attributePrefix = "attributes."

// Attribute returns the attribute key of an attribute column.
func (c Column) Attribute() (string, bool) {
	k, ok := strings.CutPrefix(string(c), attributePrefix)
	return k, ok && k != ""
}

// Column is a record field a back end can group by natively.
type Column string

// Columns a back end groups by natively.
const (
	ColType      Column = "type"
	ColEngine    Column = "engine"
	ColAction    Column = "action"
	ColRuleID    Column = "ruleID"
	ColSeverity  Column = "severity"
	ColNamespace Column = "namespace"
	ColKind      Column = "kind"
	ColName      Column = "name"
)

// Columns lists the native columns in a stable order.
func Columns() []Column {
	return []Column{ColType, ColEngine, ColAction, ColRuleID, ColSeverity, ColNamespace, ColKind, ColName}
}

// Value returns the record's value of a native or attribute column as a
// string, as the back ends group by it.
func (c Column) Value(r *Record) string {
	e := &r.Event
	switch c {
	case ColType:
		return r.Type.String()
	case ColEngine:
		return e.Engine
	case ColAction:
		return e.Action
	case ColRuleID:
		return e.RuleID
	case ColSeverity:
		return e.Severity.String()
	case ColNamespace:
		return e.Resource.Namespace
	case ColKind:
		return e.Resource.Kind
	case ColName:
		return e.Resource.Name
	}
	if k, ok := c.Attribute(); ok {
		return e.Attributes[k]
	}
	return ""
}

// Group is one row of an aggregation: the values of the grouped columns,
// in the order asked for, and how many records have them.
type Group struct {
	Key   []string
	Count int64
}

// Retention bounds what a store keeps. Zero fields do not bound.
type Retention struct {
	// MaxAge removes records whose time is older than now - MaxAge.
	MaxAge time.Duration
	// MaxBytes removes the oldest records until the database's used size
	// is at most MaxBytes.
	MaxBytes int64
}

// Stats describes what a store holds.
type Stats struct {
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Oldest and Newest are the times of the oldest and newest records
	// (zero when empty).
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
}

// ErrStop, returned by a Scan callback, ends the scan without an error.
var ErrStop = errors.New("stop scan")

// Store keeps Findings and Events. Implementations are safe for
// concurrent use.
type Store interface {
	// Append stores records in one transaction and returns their IDs.
	Append(ctx context.Context, recs []Record) error
	// Scan calls fn for each record the filter matches, oldest first
	// (by time, then ID), at most limit records when limit > 0. Returning
	// ErrStop from fn ends the scan early without an error. The record
	// passed to fn is only valid during the call.
	Scan(ctx context.Context, f Filter, limit int, fn func(*Record) error) error
	// Count returns the number of records the filter matches, grouped by
	// the columns (one group with an empty key when by is empty), largest
	// groups first.
	Count(ctx context.Context, f Filter, by []Column) ([]Group, error)
	// Retain removes records outside the retention bounds and returns how
	// many it removed.
	Retain(ctx context.Context, r Retention, now time.Time) (int64, error)
	// Stats reports the size of the store.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the store.
	Close() error
}
