package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Catalogue is every check Kordon knows: the CEL rules and the checks that
// Go code decides (native rules), with one set of metadata each. Engines
// look checks up here to build their findings, so that an ID, its title,
// severity, controls and remediation are defined in exactly one place.
// A Catalogue is immutable and safe for concurrent use.
//
// Checks that fail together because of one mistake belong to a root cause
// (see Cause); Catalogue.Cause tells which.
type Catalogue struct {
	rules  []*Rule
	byID   map[string]*Rule // upper-case ID or alias
	causes []*Cause
}

// NewCatalogue indexes rules by ID and alias; an ID or alias used twice is
// an error. The catalogue has the root causes the rules are linked to
// (built-in rules are, by Builtin).
func NewCatalogue(rules []*Rule) (*Catalogue, error) {
	if err := checkUnique(rules); err != nil {
		return nil, err
	}
	c := &Catalogue{rules: slices.Clip(rules), byID: make(map[string]*Rule, len(rules))}
	for _, r := range rules {
		for _, id := range r.IDs() {
			c.byID[strings.ToUpper(id)] = r
		}
		if r.cause != nil && !slices.Contains(c.causes, r.cause) {
			c.causes = append(c.causes, r.cause)
		}
	}
	slices.SortStableFunc(c.causes, func(a, b *Cause) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return c, nil
}

// BuiltinCatalogue returns the catalogue of the built-in packs.
func BuiltinCatalogue() (*Catalogue, error) {
	rs, err := Builtin()
	if err != nil {
		return nil, err
	}
	return NewCatalogue(rs)
}

// Rules returns every rule in catalogue order. The slice must not be
// modified.
func (c *Catalogue) Rules() []*Rule { return c.rules }

// Lookup returns the rule with this ID or alias, case-insensitively.
func (c *Catalogue) Lookup(id string) (*Rule, bool) {
	r, ok := c.byID[strings.ToUpper(id)]
	return r, ok
}

// Cause returns the root cause that the check named by id (an ID or
// alias, case-insensitively) reports a symptom of; false when the check
// belongs to no cause or the catalogue lacks it.
func (c *Catalogue) Cause(id string) (*Cause, bool) {
	r, ok := c.Lookup(id)
	if !ok || r.cause == nil {
		return nil, false
	}
	return r.cause, true
}

// Causes returns the root causes of the catalogue's checks, in the order of
// the causes file. The slice must not be modified.
func (c *Catalogue) Causes() []*Cause { return c.causes }

// Names returns every ID of the check that id names (its ID, then its
// aliases), or just id when the catalogue lacks it.
func (c *Catalogue) Names(id string) []string {
	if r, ok := c.Lookup(id); ok {
		return r.IDs()
	}
	return []string{id}
}

// Select returns the rules that pass the filter, in catalogue order.
func (c *Catalogue) Select(f Filter) []*Rule { return Select(c.rules, f) }

// ForEngine returns the rules that the engine runs.
func (c *Catalogue) ForEngine(engine string) []*Rule {
	var out []*Rule
	for _, r := range c.rules {
		if r.RunsIn(engine) {
			out = append(out, r)
		}
	}
	return out
}

// Finding builds the finding of a check from the catalogue's metadata. id
// is the ID the engine reports the check under (its ID or an alias);
// remediation, when not empty, replaces the catalogue's (an engine that
// can name the exact fix). It fails when the catalogue has no such check:
// an engine may only report checks of the catalogue.
func (c *Catalogue) Finding(id string, o Outcome) (finding.Finding, error) {
	r, ok := c.Lookup(id)
	if !ok {
		return finding.Finding{}, fmt.Errorf("check %s is not in the catalogue", id)
	}
	return r.finding(id, o), nil
}

// finding builds a finding of r reported under id.
func (r *Rule) finding(id string, o Outcome) finding.Finding {
	f := finding.Finding{
		RuleID:      id,
		Title:       r.Title,
		Severity:    r.Severity,
		Controls:    r.Controls,
		Resource:    o.Resource,
		Location:    o.Location,
		Message:     o.Message,
		Remediation: r.Remediation,
	}
	if f.Message == "" {
		f.Message = r.Title
	}
	if o.Remediation != "" {
		f.Remediation = o.Remediation
	}
	return f
}

// Filter selects rules. Empty fields select everything.
type Filter struct {
	// Frameworks keeps rules with a control in one of these frameworks
	// (CIS, NSA, NIST-800-190, PSS; case-insensitive).
	Frameworks []string
	// Tags keeps rules with one of these tags.
	Tags []string
	// IDs keeps only these rules (IDs or aliases, case-insensitive).
	IDs []string
	// MinSeverity keeps rules at or above this severity.
	MinSeverity finding.Severity
}

// Select returns the rules that pass the filter, in order.
func Select(rules []*Rule, f Filter) []*Rule {
	var out []*Rule
	for _, r := range rules {
		if r.Severity < f.MinSeverity {
			continue
		}
		if len(f.IDs) > 0 && !slices.ContainsFunc(r.IDs(), func(id string) bool {
			return slices.ContainsFunc(f.IDs, func(want string) bool { return strings.EqualFold(want, id) })
		}) {
			continue
		}
		if len(f.Frameworks) > 0 && !slices.ContainsFunc(r.Frameworks(), func(fw string) bool {
			return slices.ContainsFunc(f.Frameworks, func(want string) bool { return strings.EqualFold(want, fw) })
		}) {
			continue
		}
		if len(f.Tags) > 0 && !slices.ContainsFunc(r.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// ByID returns the rule with the given ID or alias, case-insensitively.
func ByID(rules []*Rule, id string) (*Rule, bool) {
	for _, r := range rules {
		for _, x := range r.IDs() {
			if strings.EqualFold(x, id) {
				return r, true
			}
		}
	}
	return nil, false
}
