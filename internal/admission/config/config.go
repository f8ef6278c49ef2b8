package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/rules"
)

// Action is what the webhook does with a violation.
type Action string

// Actions.
const (
	// Enforce denies the request.
	Enforce Action = "enforce"
	// Warn admits the request and returns the violation as a warning, which
	// kubectl prints.
	Warn Action = "warn"
	// Audit admits the request and only records the violation (log line
	// and metrics).
	Audit Action = "audit"
)

// Valid reports whether a is one of enforce, warn or audit.
func (a Action) Valid() bool { return a == Enforce || a == Warn || a == Audit }

// Stricter reports whether a is stricter than b: enforce is stricter than
// warn, warn than audit, and any action than none ("").
func (a Action) Stricter(b Action) bool { return a.rank() > b.rank() }

func (a Action) rank() int {
	switch a {
	case Enforce:
		return 3
	case Warn:
		return 2
	case Audit:
		return 1
	}
	return 0
}

// Config is the whole configuration file.
type Config struct {
	// ExcludeNamespaces are never judged, in addition to kube-system and the
	// webhook's own namespace, which are always excluded.
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// Timeout bounds the evaluation of one request; default 2s. It must stay
	// below the webhook's timeoutSeconds.
	Timeout Duration `json:"timeout,omitempty"`
	// FailureAction is what the webhook answers when it cannot decide a
	// request within Timeout (or an enforcing check fails): deny (default)
	// or allow (with a warning). See failure.go.
	FailureAction FailureAction `json:"failureAction,omitempty"`
	// Rules select catalogue rules and say where and how they apply.
	Rules []RuleBinding `json:"rules,omitempty"`
	// Governance configures the governance policies; a nil policy is off.
	Governance Governance `json:"governance,omitempty"`
	// Parameters set rule parameters (see docs/rules.md#parameters) by rule
	// ID or alias and parameter name, as in .kordon.yaml.
	Parameters map[string]map[string]json.RawMessage `json:"parameters,omitempty"`

	// Params are Parameters as settings, each naming its file, line and
	// field; the catalogue checks them (rules.SetParams).
	Params []rules.ParamSetting `json:"-"`

	// Warnings are things Parse could not check (custom resource kinds),
	// with their positions. They do not stop the webhook.
	Warnings []Problem `json:"-"`
}

// RuleBinding applies a selection of catalogue rules with one action.
type RuleBinding struct {
	// Name identifies the binding in errors and logs.
	Name string `json:"name"`
	// Select chooses the rules; at least one field must be set.
	Select RuleSelector `json:"select"`
	// Action is enforce, warn or audit.
	Action Action `json:"action"`
	Scope  `json:",inline"`
}

// RuleSelector chooses catalogue rules. A rule is selected when it passes
// every non-empty field.
type RuleSelector struct {
	// Packs are rule pack file names without extension (pod-security,
	// workloads, rbac, ...).
	Packs []string `json:"packs,omitempty"`
	// Tags such as pss-baseline, pss-restricted.
	Tags []string `json:"tags,omitempty"`
	// Frameworks such as CIS, NSA, NIST-800-190, PSS.
	Frameworks []string `json:"frameworks,omitempty"`
	// IDs of single rules.
	IDs []string `json:"ids,omitempty"`
	// ExcludeIDs removes rules from the selection.
	ExcludeIDs []string `json:"excludeIDs,omitempty"`
	// MinSeverity keeps rules at or above this severity.
	MinSeverity string `json:"minSeverity,omitempty"`
}

// Scope says where a rule binding or policy applies. Empty fields match
// everything.
type Scope struct {
	// Namespaces (patterns, * matches any run of characters) the scope is
	// limited to. A Namespace object is in the namespace it names.
	Namespaces []string `json:"namespaces,omitempty"`
	// ExcludeNamespaces (patterns) are left out.
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// NamespaceSelector matches the labels of the object's namespace (of
	// the Namespace object itself for Namespaces). Cluster-scoped objects
	// other than Namespaces always match, as in the API server.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// Kinds limits the scope to these kinds, written Kind (any group) or
	// group/Kind (apps/Deployment; core/Pod for the core group).
	Kinds []string `json:"kinds,omitempty"`
	// Exempt subjects are never judged.
	Exempt Subjects `json:"exempt,omitempty"`
}

// Subjects names users, groups and service accounts.
type Subjects struct {
	Users  []string `json:"users,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// ServiceAccounts are written namespace/name; namespace/* matches every
	// service account of a namespace.
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`
}

// Empty reports whether no subject is named.
func (s Subjects) Empty() bool {
	return len(s.Users) == 0 && len(s.Groups) == 0 && len(s.ServiceAccounts) == 0
}

// PolicyBinding applies a governance policy with one action where its
// scope matches, like a rule binding.
type PolicyBinding struct {
	// Name, optional, identifies the binding in errors.
	Name   string `json:"name,omitempty"`
	Action Action `json:"action"`
	Scope  `json:",inline"`
}

// PolicyBindings says where and with which action a governance policy
// applies. It is written in one of two forms:
//
//   - one binding: action plus the scope fields (namespaces,
//     namespaceSelector, ...), as before bindings existed;
//   - a list of bindings, each with its action and scope; the scope fields
//     beside bindings then apply to every binding (a request must match
//     both), and action must not be set.
//
// When several bindings match a request, the strictest action wins
// (enforce over warn over audit), whatever their order.
type PolicyBindings struct {
	Action   Action          `json:"action,omitempty"`
	Bindings []PolicyBinding `json:"bindings,omitempty"`
	Scope    `json:",inline"`
}

// Effective returns the policy's bindings: Bindings, or the one binding
// that Action forms (with an empty scope: the policy's Scope applies to
// every binding).
func (p PolicyBindings) Effective() []PolicyBinding {
	if len(p.Bindings) > 0 {
		return p.Bindings
	}
	return []PolicyBinding{{Action: p.Action}}
}

// Governance holds the governance policies.
type Governance struct {
	RequireNetworkPolicy *RequireNetworkPolicy `json:"requireNetworkPolicy,omitempty"`
	ProtectedLabels      *ProtectedLabels      `json:"protectedLabels,omitempty"`
	NamespaceScoping     *NamespaceScoping     `json:"namespaceScoping,omitempty"`
	TrustedImages        *TrustedImages        `json:"trustedImages,omitempty"`
	CreationRate         *CreationRate         `json:"creationRate,omitempty"`
	VerifiedImages       *VerifiedImages       `json:"verifiedImages,omitempty"`
	VulnerableImages     *VulnerableImages     `json:"vulnerableImages,omitempty"`
}

// RequireNetworkPolicy denies pods and workloads that no NetworkPolicy of
// their namespace selects.
type RequireNetworkPolicy struct {
	PolicyBindings `json:",inline"`
}

// ProtectedLabels lists labels that only some subjects may add, change or
// remove, on any object and on pod templates.
type ProtectedLabels struct {
	PolicyBindings `json:",inline"`
	Labels         []ProtectedLabel `json:"labels"`
}

// ProtectedLabel is a label key (pattern) or a key=value pair and who may
// set it.
type ProtectedLabel struct {
	// Key is a label key; * matches any run of characters
	// (security.example.com/*).
	Key string `json:"key"`
	// Value, when set, protects only this value: adding the pair, or
	// changing or removing it once set.
	Value *string `json:"value,omitempty"`
	// Allowed subjects may add, change and remove the label.
	Allowed Subjects `json:"allowed"`
}

// NamespaceScoping limits users and groups to namespaces.
type NamespaceScoping struct {
	PolicyBindings `json:",inline"`
	// Subjects are checked in order; a request by a subject named in one
	// or more entries may only touch objects in those entries' namespaces.
	Subjects []ScopedSubject `json:"subjects"`
}

// ScopedSubject names subjects and the namespaces they may work in.
type ScopedSubject struct {
	Subjects `json:",inline"`
	// Namespaces are patterns (* matches any run of characters).
	Namespaces []string `json:"namespaces"`
}

// TrustedImages restricts the images pods may run.
type TrustedImages struct {
	PolicyBindings `json:",inline"`
	// Allow lists registry/repository patterns (registry.example.com/*,
	// docker.io/library/nginx); when non-empty an image must match one.
	Allow []string `json:"allow,omitempty"`
	// Deny lists patterns no image may match.
	Deny []string `json:"deny,omitempty"`
	// RequireDigest requires every image to be pinned by digest.
	RequireDigest bool `json:"requireDigest,omitempty"`
	// AllowLatest permits :latest and untagged images (refused by default).
	AllowLatest bool `json:"allowLatest,omitempty"`
}

// CreationRate limits how many objects one user may create in a sliding
// window. Counters live in the memory of each replica.
type CreationRate struct {
	PolicyBindings `json:",inline"`
	// Limit is the number of creations each user may make in Window,
	// unless an entry of Limits names them.
	Limit int `json:"limit"`
	// Limits set other limits for some users, groups or service accounts.
	// The most specific entry that names a user applies (see LimitFor).
	Limits []RateLimit `json:"limits,omitempty"`
	// Window is the sliding window, e.g. 1h.
	Window Duration `json:"window"`
	// The scope's Kinds are the kinds counted; default every workload
	// kind (Pod, Deployment, ...).
}

// RateLimit is the creation limit of the subjects it names. Each user
// still has their own counter: a group's limit applies to every member
// separately, it is not a budget the group shares.
type RateLimit struct {
	// Subjects (users, groups, serviceAccounts) the entry names.
	Subjects `json:",inline"`
	// Exclude names subjects the entry does not apply to although Subjects
	// names them (a group's lead, one service account of a namespace).
	Exclude Subjects `json:"exclude,omitempty"`
	// Limit is the number of creations allowed in the window.
	Limit int `json:"limit"`
}

// Duration is a time.Duration written as a Go duration string ("1h",
// "500ms") in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a value such as 500ms, 30s or 1h", s)
	}
	d.Duration = v
	return nil
}

// CheckScalar checks a duration's text before decoding (see
// strictyaml.ScalarChecker).
func (Duration) CheckScalar(s string) string {
	if _, err := time.ParseDuration(s); err != nil {
		return fmt.Sprintf("duration %q: want a value such as 500ms, 30s or 1h", s)
	}
	return ""
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// DefaultTimeout is the evaluation budget of one request when Timeout is unset.
const DefaultTimeout = 2 * time.Second

// Validate checks the configuration and returns every problem, each naming
// its field, as an *Error (without line numbers: Parse adds them). Rule
// selections are checked against the catalogue by the engine, not here.
// Warnings (kinds that cannot be checked) are left in c.Warnings.
func (c *Config) Validate() error {
	v := &validator{}
	c.validate(v)
	c.Warnings = v.warnings
	if len(v.problems) > 0 {
		return &Error{Problems: v.problems}
	}
	return nil
}

// validator collects problems and warnings.
type validator struct {
	problems, warnings []Problem
}

func (v *validator) bad(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(field, format string, args ...any) {
	v.warnings = append(v.warnings, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (c *Config) validate(v *validator) {
	if c.Timeout.Duration < 0 || c.Timeout.Duration > 25*time.Second {
		v.bad("timeout", "%s is outside 0..25s (the API server waits at most 30s)", c.Timeout.Duration)
	}
	names := map[string]bool{}
	for i, b := range c.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if b.Name == "" {
			v.bad(f+".name", "is required")
		} else if names[b.Name] {
			v.bad(f+".name", "%q is used twice", b.Name)
		}
		names[b.Name] = true
		s := b.Select
		if len(s.Packs)+len(s.Tags)+len(s.Frameworks)+len(s.IDs) == 0 && s.MinSeverity == "" {
			v.bad(f+".select", "choose rules with packs, tags, frameworks, ids or minSeverity")
		}
		checkAction(v, f+".action", b.Action)
		checkScope(v, f, b.Scope)
	}
	g := c.Governance
	if p := g.RequireNetworkPolicy; p != nil {
		checkBindings(v, "governance.requireNetworkPolicy", p.PolicyBindings)
	}
	if p := g.ProtectedLabels; p != nil {
		f := "governance.protectedLabels"
		checkBindings(v, f, p.PolicyBindings)
		if len(p.Labels) == 0 {
			v.bad(f+".labels", "list at least one label")
		}
		for i, l := range p.Labels {
			lf := fmt.Sprintf("%s.labels[%d]", f, i)
			if strings.TrimSpace(l.Key) == "" {
				v.bad(lf+".key", "is required")
			}
			if l.Allowed.Empty() {
				v.bad(lf+".allowed", "name the users, groups or serviceAccounts that may set %s", l.Key)
			}
			checkSubjects(v, lf+".allowed", l.Allowed)
		}
	}
	if p := g.NamespaceScoping; p != nil {
		f := "governance.namespaceScoping"
		checkBindings(v, f, p.PolicyBindings)
		if len(p.Subjects) == 0 {
			v.bad(f+".subjects", "list at least one entry")
		}
		for i, s := range p.Subjects {
			sf := fmt.Sprintf("%s.subjects[%d]", f, i)
			if s.Subjects.Empty() {
				v.bad(sf, "name users, groups or serviceAccounts")
			}
			if len(s.Namespaces) == 0 {
				v.bad(sf+".namespaces", "list the namespaces these subjects may work in")
			}
			checkSubjects(v, sf, s.Subjects)
		}
	}
	if p := g.TrustedImages; p != nil {
		f := "governance.trustedImages"
		checkBindings(v, f, p.PolicyBindings)
		for field, pats := range map[string][]string{"allow": p.Allow, "deny": p.Deny} {
			for i, pat := range pats {
				if strings.TrimSpace(pat) == "" || strings.ContainsAny(pat, " \t@") {
					v.bad(fmt.Sprintf("%s.%s[%d]", f, field, i), "%q is not a registry/repository pattern", pat)
				}
			}
		}
	}
	if p := g.CreationRate; p != nil {
		f := "governance.creationRate"
		checkBindings(v, f, p.PolicyBindings)
		checkLimit(v, f+".limit", p.Limit)
		if p.Window.Duration < time.Second || p.Window.Duration > 7*24*time.Hour {
			v.bad(f+".window", "%s is outside 1s..168h", p.Window.Duration)
		}
		for i, l := range p.Limits {
			lf := fmt.Sprintf("%s.limits[%d]", f, i)
			if l.Subjects.Empty() {
				v.bad(lf, "name the users, groups or serviceAccounts this limit applies to")
			}
			checkSubjects(v, lf, l.Subjects)
			checkSubjects(v, lf+".exclude", l.Exclude)
			checkLimit(v, lf+".limit", l.Limit)
		}
	}
	if p := g.VerifiedImages; p != nil {
		p.validate(v) // signatures.go
	}
	if p := g.VulnerableImages; p != nil {
		p.validate(v) // vulnerabilities.go
	}
}

func checkLimit(v *validator, field string, n int) {
	if n <= 0 {
		v.bad(field, "must be a positive number of creations")
	} else if n > 100000 {
		v.bad(field, "%d is too large for in-memory counters (at most 100000)", n)
	}
}

// checkBindings checks a governance policy's action, or its bindings.
func checkBindings(v *validator, field string, p PolicyBindings) {
	checkScope(v, field, p.Scope)
	if len(p.Bindings) == 0 {
		checkAction(v, field+".action", p.Action)
		return
	}
	if p.Action != "" {
		v.bad(field+".action", "set the action of each of bindings, not of the policy, when bindings are listed")
	}
	for i, b := range p.Bindings {
		bf := fmt.Sprintf("%s.bindings[%d]", field, i)
		checkAction(v, bf+".action", b.Action)
		checkScope(v, bf, b.Scope)
	}
}

func checkAction(v *validator, field string, a Action) {
	if !a.Valid() {
		v.bad(field, "%q: want enforce, warn or audit", a)
	}
}

func checkScope(v *validator, field string, s Scope) {
	if s.NamespaceSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(s.NamespaceSelector); err != nil {
			v.bad(field+".namespaceSelector", "%v", err)
		}
	}
	for i, k := range s.Kinds {
		kf := fmt.Sprintf("%s.kinds[%d]", field, i)
		msg, custom := checkKind(k)
		switch {
		case custom:
			v.warn(kf, "%s", msg)
		case msg != "":
			v.bad(kf, "%s", msg)
		}
	}
	checkSubjects(v, field+".exempt", s.Exempt)
}

func checkSubjects(v *validator, field string, s Subjects) {
	for i, sa := range s.ServiceAccounts {
		ns, name, ok := strings.Cut(sa, "/")
		if !ok || ns == "" || name == "" {
			v.bad(fmt.Sprintf("%s.serviceAccounts[%d]", field, i), "%q: want namespace/name", sa)
		}
	}
}
