package decisionlog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
)

// Message is the msg of every decision line.
const Message = "admission decision"

// Rule is one violation of a decision, an entry of the line's rules list.
// The line names the object; the catalogue holds the rest of the check's
// metadata (title, controls, remediation).
type Rule struct {
	// ID is the check's ID as the webhook reported it (an ID or alias).
	ID string `json:"id"`
	// Action is what the webhook did: enforce (denied), warn or audit.
	Action config.Action `json:"action"`
	// Source is the rule binding's name, or "governance".
	Source string `json:"source"`
	// Severity is the check's severity when the decision was made.
	Severity finding.Severity `json:"severity"`
	// Message says what is wrong with the object.
	Message string `json:"message"`
	// Remediation is the fix for this object, logged only when it differs
	// from the catalogue's (governance policies name the exact fix).
	Remediation string `json:"remediation,omitempty"`
}

// Line is a decision line as the webhook writes it. Fields a line lacks
// are zero: APIVersion is absent from logs of webhooks older than this
// field, Time from logs of handlers that write no time.
type Line struct {
	Time      time.Time `json:"time"`
	Msg       string    `json:"msg"`
	UID       string    `json:"uid"`
	User      string    `json:"user"`
	Groups    []string  `json:"groups"`
	Operation string    `json:"operation"`
	// APIVersion is the group/version the object was judged in: apps/v1, v1.
	APIVersion string `json:"apiVersion"`
	// Kind is group/Kind (apps/Deployment), or Kind for the core group.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Result is allowed, denied or error.
	Result string `json:"result"`
	DryRun bool   `json:"dryRun"`
	// Excluded says why the request was not judged.
	Excluded string `json:"excluded"`
	// Error is why the webhook could not decide (result error).
	Error      string   `json:"error"`
	Rules      []Rule   `json:"rules"`
	RuleErrors []string `json:"ruleErrors"`
}

// Resource names the line's object as findings do. A line without an
// apiVersion (an older webhook) gets v1 for the core group and an empty
// apiVersion otherwise. A Namespace is cluster-scoped whatever namespace
// the request carried.
func (l *Line) Resource() finding.Resource {
	group, kind, ok := strings.Cut(l.Kind, "/")
	if !ok {
		group, kind = "", l.Kind
	}
	apiVersion := l.APIVersion
	if apiVersion == "" && group == "" {
		apiVersion = "v1"
	}
	ns := l.Namespace
	if group == "" && kind == "Namespace" {
		ns = ""
	}
	return finding.Resource{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: l.Name}
}

// Judged reports whether the webhook judged the request: it was neither
// excluded nor failed.
func (l *Line) Judged() bool { return l.Excluded == "" && l.Result != "error" }

// validate checks what turning the line into findings relies on.
func (l *Line) validate() error {
	var errs []error
	if len(l.Rules) > 0 && l.Kind == "" {
		errs = append(errs, errors.New("rules without a kind"))
	}
	for i, r := range l.Rules {
		if r.ID == "" {
			errs = append(errs, fmt.Errorf("rules[%d]: no id", i))
		}
		if !r.Action.Valid() {
			errs = append(errs, fmt.Errorf("rules[%d] (%s): action %q: want enforce, warn or audit", i, r.ID, r.Action))
		}
	}
	return errors.Join(errs...)
}
