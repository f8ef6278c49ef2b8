package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Rule is one rule as written in a rule file (YAML). It is a spec: Compile
// turns a set of rules into an executable RuleSet.
type Rule struct {
	// ID is stable and unique, e.g. KOR-POD-001.
	ID string `json:"id"`
	// Aliases are other IDs of the same check, kept where two engines once
	// named one control differently (KOR-NETPOL-002 and KOR-GOV-001 are
	// KOR-NET-002). Every place that takes a rule ID accepts an alias, and an
	// engine that has always reported a check under an alias still does.
	Aliases     []string         `json:"aliases,omitempty"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Severity    finding.Severity `json:"severity"`
	// Controls are framework-qualified control IDs: CIS:5.2.2, NSA:non-root,
	// NIST-800-190:4.4.3, PSS:privileged.
	Controls []string `json:"controls,omitempty"`
	// Tags group rules for selection, e.g. pss-baseline, pss-restricted,
	// best-practice.
	Tags []string `json:"tags,omitempty"`
	// Native is set on checks decided by Go code rather than by CEL; such a
	// rule has no match, variables or validations.
	Native *Native `json:"native,omitempty"`
	Match  Match   `json:"match,omitzero"`
	// MatchConditions narrow Match with CEL, as a ValidatingAdmissionPolicy's
	// matchConditions do: the rule applies only to objects for which every
	// condition is true. They see only `object` (no variables, no
	// inventory); an object they exclude is not counted as evaluated.
	MatchConditions []MatchCondition `json:"matchConditions,omitempty"`
	// Parameters are values the expressions read as params.<name>, with
	// defaults; see Parameter.
	Parameters  []Parameter  `json:"parameters,omitempty"`
	Variables   []Variable   `json:"variables,omitempty"`
	Validations []Validation `json:"validations,omitempty"`
	Remediation string       `json:"remediation"`
	References  []string     `json:"references,omitempty"`

	// File and Line say where the rule was defined.
	File string `json:"-"`
	Line int    `json:"-"`

	// builtin is set on the rules Builtin returns (not on custom rules).
	builtin bool

	// cause is the root cause the rule reports a symptom of, linked by
	// Builtin from the causes file; nil for most rules and every custom
	// one. It is not part of the rule file.
	cause *Cause
	// paramValues are parameter values set by SetParams (JSON), by name.
	paramValues map[string]json.RawMessage
}

// IsBuiltin reports whether the rule is one of the built-in packs' (from
// Builtin), not a custom rule.
func (r *Rule) IsBuiltin() bool { return r.builtin }

// Match selects the objects a rule applies to.
type Match struct {
	// Workloads matches every kind that carries a pod spec (Pod, PodTemplate,
	// ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet,
	// Job, CronJob) and makes the workload variables available.
	Workloads bool `json:"workloads,omitempty"`
	// Resources matches by API group and kind; "*" matches any.
	Resources []ResourceMatch `json:"resources,omitempty"`
}

// ResourceMatch matches objects of the listed kinds in the listed API
// groups ("" is the core group).
type ResourceMatch struct {
	APIGroups []string `json:"apiGroups"`
	Kinds     []string `json:"kinds"`
}

// MatchCondition is a named CEL expression that must be true for the rule
// to apply.
type MatchCondition struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// Variable is a named CEL expression, available to later variables and to
// validations as variables.<name>, evaluated at most once and only when used.
type Variable struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// Validation is a CEL expression that is true when the object complies. When
// false, the finding's message is MessageExpression's result (a string) if
// set, else Message, else the rule's title.
type Validation struct {
	Expression        string `json:"expression"`
	Message           string `json:"message,omitempty"`
	MessageExpression string `json:"messageExpression,omitempty"`
}

// Engines that run checks, as named in Native.Engines.
const (
	// EngineScan is kordon scan (posture).
	EngineScan = "scan"
	// EngineNetpolLint is kordon netpol lint.
	EngineNetpolLint = "netpol-lint"
	// EngineAdmission is the admission webhook (kordon admission serve).
	EngineAdmission = "admission"
	// EngineSensor is the runtime sensor (kordon sensor run).
	EngineSensor = "sensor"
	// EngineWAF is the web application firewall (kordon waf serve).
	EngineWAF = "waf"
	// EngineIntel is kordon server's threat-intelligence enrichment.
	EngineIntel = "intel"
	// EngineImage is kordon image scan (vulnerabilities of images).
	EngineImage = "image"
	// EngineDrift is kordon operator's drift detection against a Git or
	// folder baseline.
	EngineDrift = "drift"
)

// Engines returns every engine name, in documentation order.
func Engines() []string {
	return []string{EngineScan, EngineNetpolLint, EngineAdmission, EngineImage, EngineWAF, EngineSensor, EngineIntel, EngineDrift}
}

// Native describes a check that Go code decides: a verdict CEL cannot
// reach (a network model, an admission request's user) or one several
// engines must share exactly.
type Native struct {
	// Engines are the engines that run the check.
	Engines []string `json:"engines"`
	// Implementation names the Go package that decides the check, for
	// readers of kordon rules show.
	Implementation string `json:"implementation"`
}

// IsNative reports whether Go code decides the rule.
func (r *Rule) IsNative() bool { return r.Native != nil }

// RunsIn reports whether the engine runs the rule: CEL rules run in scan
// and admission, native ones where they say.
func (r *Rule) RunsIn(engine string) bool {
	if r.Native == nil {
		return engine == EngineScan || engine == EngineAdmission
	}
	return slices.Contains(r.Native.Engines, engine)
}

// IDs returns the rule's ID followed by its aliases.
func (r *Rule) IDs() []string { return append([]string{r.ID}, r.Aliases...) }

// Frameworks returns the frameworks the rule's controls belong to.
func (r *Rule) Frameworks() []string { return finding.Frameworks(r.Controls) }

// Where returns file:line of the rule's definition.
func (r *Rule) Where() string {
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	return r.File
}

var (
	idPattern      = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
	controlPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*:[A-Za-z0-9_.-]+$`)
	varPattern     = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	conditionName  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	variablesRef   = regexp.MustCompile(`\bvariables\b`)
)

// Validate checks the rule's fields (not its CEL; Compile does that) and
// returns every problem found.
func (r *Rule) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !idPattern.MatchString(r.ID) {
		bad("id %q: want upper-case words joined by dashes, such as KOR-POD-001 or ACME-NET-7", r.ID)
	}
	for i, a := range r.Aliases {
		if !idPattern.MatchString(a) || a == r.ID {
			bad("aliases[%d] %q: want another ID of the same form as id", i, a)
		}
	}
	if strings.TrimSpace(r.Title) == "" {
		bad("title is required")
	}
	if strings.TrimSpace(r.Remediation) == "" {
		bad("remediation is required")
	}
	for _, c := range r.Controls {
		if !controlPattern.MatchString(c) {
			bad("control %q: want FRAMEWORK:ID such as CIS:5.2.2 or PSS:privileged", c)
		}
	}
	errs = append(errs, r.validateParameters()...)
	if r.Native != nil {
		errs = append(errs, r.validateNative()...)
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("rule %s (%s): %w", r.ID, r.Where(), err)
		}
		return nil
	}
	if !r.Match.Workloads && len(r.Match.Resources) == 0 {
		bad("match: set workloads: true or list resources")
	}
	for i, rm := range r.Match.Resources {
		if len(rm.Kinds) == 0 {
			bad("match.resources[%d]: kinds is required", i)
		}
		if rm.APIGroups == nil {
			bad("match.resources[%d]: apiGroups is required (use [\"\"] for the core group)", i)
		}
	}
	condNames := map[string]bool{}
	for i, c := range r.MatchConditions {
		if !conditionName.MatchString(c.Name) {
			bad("matchConditions[%d]: name %q: want lower-case words joined by dashes", i, c.Name)
		}
		if condNames[c.Name] {
			bad("matchConditions[%d]: duplicate name %q", i, c.Name)
		}
		condNames[c.Name] = true
		if strings.TrimSpace(c.Expression) == "" {
			bad("matchConditions[%d]: expression is required", i)
		}
		if variablesRef.MatchString(c.Expression) || inventoryRef.MatchString(c.Expression) || paramsRef.MatchString(c.Expression) {
			bad("matchConditions[%d]: only `object` is available (no variables, no inventory, no params)", i)
		}
	}
	seen := map[string]bool{}
	for i, v := range r.Variables {
		if !varPattern.MatchString(v.Name) {
			bad("variables[%d]: name %q is not a CEL identifier", i, v.Name)
		}
		if isPreludeVariable(v.Name) && r.Match.Workloads {
			bad("variables[%d]: %q is predefined for workload rules", i, v.Name)
		}
		if seen[v.Name] {
			bad("variables[%d]: duplicate name %q", i, v.Name)
		}
		seen[v.Name] = true
		if strings.TrimSpace(v.Expression) == "" {
			bad("variables[%d]: expression is required", i)
		}
	}
	if len(r.Validations) == 0 {
		bad("validations: at least one is required")
	}
	for i, v := range r.Validations {
		if strings.TrimSpace(v.Expression) == "" {
			bad("validations[%d]: expression is required", i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rule %s (%s): %w", r.ID, r.Where(), err)
	}
	return nil
}

// validateNative checks a native rule: engines known, no CEL.
func (r *Rule) validateNative() []error {
	var errs []error
	if len(r.Native.Engines) == 0 {
		errs = append(errs, fmt.Errorf("native.engines: name at least one of %s", strings.Join(Engines(), ", ")))
	}
	for i, e := range r.Native.Engines {
		if !slices.Contains(Engines(), e) {
			errs = append(errs, fmt.Errorf("native.engines[%d] %q: want one of %s", i, e, strings.Join(Engines(), ", ")))
		}
	}
	if strings.TrimSpace(r.Native.Implementation) == "" {
		errs = append(errs, errors.New("native.implementation is required (the Go package that decides the check)"))
	}
	if r.Match.Workloads || len(r.Match.Resources) > 0 || len(r.MatchConditions) > 0 || len(r.Variables) > 0 || len(r.Validations) > 0 {
		errs = append(errs, errors.New("a native rule has no match, matchConditions, variables or validations: Go code decides it"))
	}
	return errs
}

// matches reports whether the rule applies to objects of this group/kind.
func (m *Match) matches(group, kind string, workload bool) bool {
	if m.Workloads && workload {
		return true
	}
	for _, rm := range m.Resources {
		if matchAny(rm.APIGroups, group) && matchAny(rm.Kinds, kind) {
			return true
		}
	}
	return false
}

func matchAny(list []string, s string) bool {
	for _, x := range list {
		if x == "*" || x == s {
			return true
		}
	}
	return false
}
