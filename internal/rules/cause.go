package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// CausesFile is the file of the built-in packs that lists root causes
// rather than rules.
const CausesFile = "causes.yaml"

// Cause is a root cause that several checks report symptoms of: when
// findings of two or more of its rules concern one resource, they come from
// one mistake and the cause's one Remediation clears them all. Reports that
// people read (table, HTML) show such findings under the cause; the
// machine formats keep one entry per finding.
//
// Causes are data, written in the built-in packs' causes.yaml and loaded
// with the built-in rules (see Builtin). A Cause is immutable once loaded.
type Cause struct {
	// ID is stable and unique, lower-case words joined by dashes, such as
	// image-not-pinned.
	ID string `json:"id"`
	// Title names the cause, as a heading over its findings.
	Title string `json:"title"`
	// Explanation says, in a sentence or two, why the rules fire together
	// and why the remediation clears them all.
	Explanation string `json:"explanation"`
	// Remediation is the one fix for every finding of the cause.
	Remediation string `json:"remediation"`
	// Rules are the IDs (not aliases) of the rules that report symptoms of
	// the cause, at least two; a rule belongs to at most one cause.
	Rules []string `json:"rules"`

	// File and Line say where the cause was defined.
	File string `json:"-"`
	Line int    `json:"-"`
}

// Where returns file:line of the cause's definition.
func (c *Cause) Where() string {
	if c.Line > 0 {
		return fmt.Sprintf("%s:%d", c.File, c.Line)
	}
	return c.File
}

var causeIDPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Validate checks the cause's own fields (not whether its rules exist;
// linkCauses does that) and returns every problem found.
func (c *Cause) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !causeIDPattern.MatchString(c.ID) {
		bad("id %q: want lower-case words joined by dashes, such as image-not-pinned", c.ID)
	}
	for _, f := range [][2]string{{"title", c.Title}, {"explanation", c.Explanation}, {"remediation", c.Remediation}} {
		if strings.TrimSpace(f[1]) == "" {
			bad("%s is required", f[0])
		}
	}
	if len(c.Rules) < 2 {
		bad("rules: list at least two rules (a cause groups the findings of several)")
	}
	for i, id := range c.Rules {
		if !idPattern.MatchString(id) {
			bad("rules[%d] %q: not a rule ID", i, id)
		}
		if slices.Contains(c.Rules[:i], id) {
			bad("rules[%d]: %s listed twice", i, id)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cause %s (%s): %w", c.ID, c.Where(), err)
	}
	return nil
}

// ParseCauses parses a causes file: one cause per YAML document. Unknown
// fields are errors. Every cause is checked with Validate.
func ParseCauses(data []byte, file string) ([]*Cause, error) {
	var causes []*Cause
	var errs []error
	for _, doc := range k8s.SplitDocuments(data) {
		c := &Cause{}
		if err := yaml.UnmarshalStrict(doc.Text, c); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, doc.Line, err))
			continue
		}
		c.File, c.Line = file, doc.Line
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		causes = append(causes, c)
	}
	return causes, errors.Join(errs...)
}

// linkCauses attaches each cause to the rules it lists. Every listed rule
// must be one of rules, named by its ID (an alias names the same check
// twice over); a rule may belong to one cause only, and cause IDs are
// unique. On error no rule is changed.
func linkCauses(rules []*Rule, causes []*Cause) error {
	byID := make(map[string]*Rule, len(rules))
	alias := map[string]*Rule{}
	for _, r := range rules {
		byID[r.ID] = r
		for _, a := range r.Aliases {
			alias[a] = r
		}
	}
	var errs []error
	ids := map[string]*Cause{}
	owner := map[*Rule]*Cause{}
	for _, c := range causes {
		if prev, ok := ids[c.ID]; ok {
			errs = append(errs, fmt.Errorf("cause %s defined twice: %s and %s", c.ID, prev.Where(), c.Where()))
		}
		ids[c.ID] = c
		for _, id := range c.Rules {
			r, ok := byID[id]
			switch {
			case ok:
			case alias[id] != nil:
				errs = append(errs, fmt.Errorf("cause %s (%s): %s is an alias; list the rule's ID, %s", c.ID, c.Where(), id, alias[id].ID))
				continue
			default:
				errs = append(errs, fmt.Errorf("cause %s (%s): no rule %s", c.ID, c.Where(), id))
				continue
			}
			if prev, ok := owner[r]; ok && prev != c {
				errs = append(errs, fmt.Errorf("cause %s (%s): %s already belongs to cause %s (%s); a rule has at most one root cause",
					c.ID, c.Where(), id, prev.ID, prev.Where()))
				continue
			}
			owner[r] = c
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for r, c := range owner {
		r.cause = c
	}
	return nil
}
