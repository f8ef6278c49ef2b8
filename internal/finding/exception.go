package finding

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Annotations an object owner uses to exempt the object from rules. Both
// are needed: the rule list and a reason.
const (
	// AnnotationRules lists rule IDs (comma-separated; globs allowed).
	AnnotationRules = "exceptions.kordon.io/rules"
	// AnnotationReason says why the exception is acceptable.
	AnnotationReason = "exceptions.kordon.io/reason"
)

// Exception exempts matching resources from a rule. Empty matchers match
// everything; Rule, Namespace and Name accept shell globs (*, ?, [...]).
type Exception struct {
	Rule      string `json:"rule"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Reason    string `json:"reason"`
	// Expires is the last day (YYYY-MM-DD, UTC) the exception applies.
	Expires string `json:"expires,omitempty"`
	// Source is the exceptions file, or the resource for annotations.
	Source string `json:"source,omitempty"`

	expires time.Time
}

// Applied records which exception suppressed a finding.
type Applied struct {
	Source  string `json:"source"`
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
}

type exceptionsFile struct {
	Exceptions []Exception `json:"exceptions"`
}

// LoadExceptions reads an exceptions file:
//
//	exceptions:
//	  - rule: KOR-POD-001
//	    kind: Deployment
//	    namespace: kube-system
//	    name: "cilium-*"
//	    reason: the CNI needs the host network
//	    expires: 2027-06-30
//
// Every entry needs rule and reason; errors name the entry.
func LoadExceptions(file string) ([]Exception, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load exceptions %s: %w", file, err)
	}
	var ef exceptionsFile
	if err := yaml.UnmarshalStrict(data, &ef); err != nil {
		return nil, fmt.Errorf("load exceptions %s: %w", file, err)
	}
	var errs []error
	for i := range ef.Exceptions {
		e := &ef.Exceptions[i]
		e.Source = file
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("exceptions[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load exceptions %s: %w", file, err)
	}
	return ef.Exceptions, nil
}

// Validate checks an exception written outside an exceptions file (in a
// configuration file): rule and reason set, patterns and date valid. It
// must be called before the exception is used.
func (e *Exception) Validate() error { return e.validate() }

func (e *Exception) validate() error {
	if e.Rule == "" {
		return errors.New("rule is required (a rule ID or a glob such as KOR-RBAC-*)")
	}
	if strings.TrimSpace(e.Reason) == "" {
		return errors.New("reason is required")
	}
	for _, p := range []string{e.Rule, e.Namespace, e.Name} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("bad pattern %q: %w", p, err)
		}
	}
	if e.Expires != "" {
		t, err := time.Parse("2006-01-02", e.Expires)
		if err != nil {
			return fmt.Errorf("expires %q: want a date like 2027-01-31", e.Expires)
		}
		e.expires = t
	}
	return nil
}

// Expired reports whether the exception's last day is before now's day.
func (e *Exception) Expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.UTC().Before(e.expires.AddDate(0, 0, 1))
}

// Matches reports whether the exception applies to the finding.
func (e *Exception) Matches(f *Finding) bool { return e.matches(f, nil) }

// matches is Matches where the rule pattern may match any of names(f.RuleID)
// (the IDs and aliases of the finding's check; nil means just f.RuleID).
func (e *Exception) matches(f *Finding, names func(string) []string) bool {
	return globAny(e.Rule, f.RuleID, names) &&
		(e.Kind == "" || strings.EqualFold(e.Kind, f.Resource.Kind)) &&
		glob(e.Namespace, f.Resource.Namespace) &&
		glob(e.Name, f.Resource.Name)
}

// globAny reports whether pattern matches id or, when names is set, any
// other name of the same check.
func globAny(pattern, id string, names func(string) []string) bool {
	if names == nil {
		return glob(pattern, id)
	}
	for _, n := range names(id) {
		if glob(pattern, n) {
			return true
		}
	}
	return false
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// Exceptions decides which findings are suppressed.
type Exceptions struct {
	List []Exception
	// UseAnnotations lets object annotations exempt their own objects.
	UseAnnotations bool
	Now            time.Time
	// Names returns every ID of the check a rule ID names (the catalogue's
	// ID and aliases), so that an exception written for KOR-NETPOL-002
	// also covers KOR-NET-002; nil matches rule IDs as they are.
	Names func(ruleID string) []string
}

// Annotated is the annotation-based exception of one resource.
type Annotated struct {
	Rules  []string
	Reason string
}

// ParseAnnotations reads the exception annotations of an object; ok is false
// when the object has none. A rule list without a reason is an error.
func ParseAnnotations(annotations map[string]string) (a Annotated, ok bool, err error) {
	rules, has := annotations[AnnotationRules]
	if !has {
		return Annotated{}, false, nil
	}
	for _, r := range strings.Split(rules, ",") {
		if r = strings.TrimSpace(r); r != "" {
			a.Rules = append(a.Rules, r)
		}
	}
	a.Reason = strings.TrimSpace(annotations[AnnotationReason])
	if a.Reason == "" {
		return Annotated{}, false, fmt.Errorf("annotation %s needs a reason in %s; exception ignored", AnnotationRules, AnnotationReason)
	}
	return a, true, nil
}

// Apply splits findings into those that count and those suppressed, and
// returns the expired exceptions. annotated gives the annotation exception of
// a finding's resource (nil when UseAnnotations is off or there is none).
// When no finding is suppressed, active is findings itself (not a copy).
func (x *Exceptions) Apply(findings []Finding, annotated func(Resource) *Annotated) (active, suppressed []Finding, expired []Exception) {
	for _, e := range x.List {
		if e.Expired(x.Now) {
			expired = append(expired, e)
		}
	}
	for i := range findings {
		f := &findings[i]
		a := x.match(f, annotated)
		if a == nil {
			if active != nil {
				active = append(active, *f)
			}
			continue
		}
		if active == nil {
			// The first suppressed finding: the active ones so far are
			// findings[:i], copied so that findings is left as it was.
			active = append(make([]Finding, 0, len(findings)-1), findings[:i]...)
		}
		s := *f
		s.Exception = a
		suppressed = append(suppressed, s)
	}
	if suppressed == nil {
		active = findings
	}
	return active, suppressed, expired
}

func (x *Exceptions) match(f *Finding, annotated func(Resource) *Annotated) *Applied {
	for i := range x.List {
		e := &x.List[i]
		if !e.Expired(x.Now) && e.matches(f, x.Names) {
			return &Applied{Source: e.Source, Reason: e.Reason, Expires: e.Expires}
		}
	}
	if x.UseAnnotations && annotated != nil {
		if a := annotated(f.Resource); a != nil {
			for _, r := range a.Rules {
				if globAny(r, f.RuleID, x.Names) {
					return &Applied{Source: "annotation " + AnnotationRules, Reason: a.Reason}
				}
			}
		}
	}
	return nil
}
