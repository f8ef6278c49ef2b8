package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
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

// Governance holds the governance policies.
type Governance struct {
	RequireNetworkPolicy *RequireNetworkPolicy `json:"requireNetworkPolicy,omitempty"`
	ProtectedLabels      *ProtectedLabels      `json:"protectedLabels,omitempty"`
	NamespaceScoping     *NamespaceScoping     `json:"namespaceScoping,omitempty"`
	TrustedImages        *TrustedImages        `json:"trustedImages,omitempty"`
	CreationRate         *CreationRate         `json:"creationRate,omitempty"`
}

// RequireNetworkPolicy denies pods and workloads that no NetworkPolicy of
// their namespace selects.
type RequireNetworkPolicy struct {
	Action Action `json:"action"`
	Scope  `json:",inline"`
}

// ProtectedLabels lists labels that only some subjects may add, change or
// remove, on any object and on pod templates.
type ProtectedLabels struct {
	Action Action           `json:"action"`
	Labels []ProtectedLabel `json:"labels"`
	Scope  `json:",inline"`
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
	Action Action `json:"action"`
	// Subjects are checked in order; a request by a subject named in one
	// or more entries may only touch objects in those entries' namespaces.
	Subjects []ScopedSubject `json:"subjects"`
	Scope    `json:",inline"`
}

// ScopedSubject names subjects and the namespaces they may work in.
type ScopedSubject struct {
	Subjects `json:",inline"`
	// Namespaces are patterns (* matches any run of characters).
	Namespaces []string `json:"namespaces"`
}

// TrustedImages restricts the images pods may run.
type TrustedImages struct {
	Action Action `json:"action"`
	// Allow lists registry/repository patterns (registry.example.com/*,
	// docker.io/library/nginx); when non-empty an image must match one.
	Allow []string `json:"allow,omitempty"`
	// Deny lists patterns no image may match.
	Deny []string `json:"deny,omitempty"`
	// RequireDigest requires every image to be pinned by digest.
	RequireDigest bool `json:"requireDigest,omitempty"`
	// AllowLatest permits :latest and untagged images (refused by default).
	AllowLatest bool `json:"allowLatest,omitempty"`
	Scope       `json:",inline"`
}

// CreationRate limits how many objects one user may create in a sliding
// window. Counters live in the memory of each replica.
type CreationRate struct {
	Action Action `json:"action"`
	// Limit is the number of creations allowed in Window.
	Limit int `json:"limit"`
	// Window is the sliding window, e.g. 1h.
	Window Duration `json:"window"`
	// Kinds counted; default every workload kind (Pod, Deployment, ...).
	// The inline Scope's Kinds field is the same field.
	Scope `json:",inline"`
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

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// DefaultTimeout is the evaluation budget of one request when Timeout is unset.
const DefaultTimeout = 2 * time.Second

// Load reads and validates a configuration file. Unknown fields are errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admission config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("admission config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a configuration.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = DefaultTimeout
	}
	return c, nil
}

// Validate checks the configuration and returns every problem, each naming
// its field. Rule selections are checked against the catalogue by the
// engine, not here.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Timeout.Duration < 0 || c.Timeout.Duration > 25*time.Second {
		bad("timeout", "%s is outside 0..25s (the API server waits at most 30s)", c.Timeout.Duration)
	}
	names := map[string]bool{}
	for i, b := range c.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if b.Name == "" {
			bad(f+".name", "is required")
		} else if names[b.Name] {
			bad(f+".name", "%q is used twice", b.Name)
		}
		names[b.Name] = true
		s := b.Select
		if len(s.Packs)+len(s.Tags)+len(s.Frameworks)+len(s.IDs) == 0 && s.MinSeverity == "" {
			bad(f+".select", "choose rules with packs, tags, frameworks, ids or minSeverity")
		}
		checkAction(bad, f+".action", b.Action)
		checkScope(bad, f, b.Scope)
	}
	g := c.Governance
	if p := g.RequireNetworkPolicy; p != nil {
		checkAction(bad, "governance.requireNetworkPolicy.action", p.Action)
		checkScope(bad, "governance.requireNetworkPolicy", p.Scope)
	}
	if p := g.ProtectedLabels; p != nil {
		f := "governance.protectedLabels"
		checkAction(bad, f+".action", p.Action)
		checkScope(bad, f, p.Scope)
		if len(p.Labels) == 0 {
			bad(f+".labels", "list at least one label")
		}
		for i, l := range p.Labels {
			lf := fmt.Sprintf("%s.labels[%d]", f, i)
			if strings.TrimSpace(l.Key) == "" {
				bad(lf+".key", "is required")
			}
			if l.Allowed.Empty() {
				bad(lf+".allowed", "name the users, groups or serviceAccounts that may set %s", l.Key)
			}
			checkSubjects(bad, lf+".allowed", l.Allowed)
		}
	}
	if p := g.NamespaceScoping; p != nil {
		f := "governance.namespaceScoping"
		checkAction(bad, f+".action", p.Action)
		checkScope(bad, f, p.Scope)
		if len(p.Subjects) == 0 {
			bad(f+".subjects", "list at least one entry")
		}
		for i, s := range p.Subjects {
			sf := fmt.Sprintf("%s.subjects[%d]", f, i)
			if s.Subjects.Empty() {
				bad(sf, "name users, groups or serviceAccounts")
			}
			if len(s.Namespaces) == 0 {
				bad(sf+".namespaces", "list the namespaces these subjects may work in")
			}
			checkSubjects(bad, sf, s.Subjects)
		}
	}
	if p := g.TrustedImages; p != nil {
		f := "governance.trustedImages"
		checkAction(bad, f+".action", p.Action)
		checkScope(bad, f, p.Scope)
		for i, pat := range append(append([]string(nil), p.Allow...), p.Deny...) {
			if strings.TrimSpace(pat) == "" || strings.ContainsAny(pat, " \t@") {
				bad(fmt.Sprintf("%s pattern %d", f, i), "%q is not a registry/repository pattern", pat)
			}
		}
	}
	if p := g.CreationRate; p != nil {
		f := "governance.creationRate"
		checkAction(bad, f+".action", p.Action)
		checkScope(bad, f, p.Scope)
		if p.Limit <= 0 {
			bad(f+".limit", "must be a positive number of creations")
		}
		if p.Window.Duration < time.Second || p.Window.Duration > 7*24*time.Hour {
			bad(f+".window", "%s is outside 1s..168h", p.Window.Duration)
		}
		if p.Limit > 100000 {
			bad(f+".limit", "%d is too large for in-memory counters (at most 100000)", p.Limit)
		}
	}
	return errors.Join(errs...)
}

func checkAction(bad func(string, string, ...any), field string, a Action) {
	if !a.Valid() {
		bad(field, "%q: want enforce, warn or audit", a)
	}
}

func checkScope(bad func(string, string, ...any), field string, s Scope) {
	if s.NamespaceSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(s.NamespaceSelector); err != nil {
			bad(field+".namespaceSelector", "%v", err)
		}
	}
	for i, k := range s.Kinds {
		kind := k
		if _, after, ok := strings.Cut(k, "/"); ok {
			kind = after
		}
		if kind == "" || kind[0] < 'A' || kind[0] > 'Z' {
			bad(fmt.Sprintf("%s.kinds[%d]", field, i), "%q: want a Kind such as Deployment or group/Kind such as apps/Deployment", k)
		}
	}
	checkSubjects(bad, field+".exempt", s.Exempt)
}

func checkSubjects(bad func(string, string, ...any), field string, s Subjects) {
	for i, sa := range s.ServiceAccounts {
		ns, name, ok := strings.Cut(sa, "/")
		if !ok || ns == "" || name == "" {
			bad(fmt.Sprintf("%s.serviceAccounts[%d]", field, i), "%q: want namespace/name", sa)
		}
	}
}
