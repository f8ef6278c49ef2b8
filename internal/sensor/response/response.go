// Package response decides and carries out what the sensor does when a
// rule fires or a workload leaves its baseline: alert (an event only),
// kill (SIGKILL the process through a pidfd, from user space, within
// milliseconds of the event) or kill-pod (delete the pod through the API
// server). A policy chooses the action per workload and per rule; dry-run
// reports what would have been done without doing it.
package response

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Action is what the sensor does.
type Action string

// Actions.
const (
	Alert   Action = "alert"
	Kill    Action = "kill"
	KillPod Action = "kill-pod"
)

func (a Action) valid() bool { return a == Alert || a == Kill || a == KillPod }

// Policy chooses actions. The YAML form is documented in docs/sensor.md.
type Policy struct {
	// DryRun reports the action that would be taken without taking it.
	DryRun bool `json:"dryRun,omitempty"`
	// Default applies to rules and deviations nothing else names (alert
	// when empty).
	Default Action `json:"default,omitempty"`
	// Deviations applies to baseline deviations (KOR-RT-100..103).
	Deviations Action `json:"deviations,omitempty"`
	// Rules sets the action per rule ID.
	Rules map[string]Action `json:"rules,omitempty"`
	// Workloads set the action for matching workloads; the first match
	// wins, over Rules and Default.
	Workloads []WorkloadPolicy `json:"workloads,omitempty"`
}

// WorkloadPolicy selects workloads by namespace and owner (empty matches
// any; a trailing * matches a prefix), or by cgroup path prefix on plain
// hosts.
type WorkloadPolicy struct {
	Namespace string `json:"namespace,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Cgroup    string `json:"cgroup,omitempty"`
	// Rules limits the entry to these rule IDs (all when empty).
	Rules  []string `json:"rules,omitempty"`
	Action Action   `json:"action"`
}

// LoadPolicy reads a policy file. Errors name the file and the field.
func LoadPolicy(name string) (*Policy, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("response policy: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("response policy %s: larger than 1 MiB", name)
	}
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("response policy %s: %w", name, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("response policy %s: %w", name, err)
	}
	return &p, nil
}

// Validate checks the actions.
func (p *Policy) Validate() error {
	var errs []error
	check := func(field string, a Action) {
		if a != "" && !a.valid() {
			errs = append(errs, fmt.Errorf("%s: %q is not alert, kill or kill-pod", field, a))
		}
	}
	check("default", p.Default)
	check("deviations", p.Deviations)
	for id, a := range p.Rules {
		check("rules."+id, a)
	}
	for i, w := range p.Workloads {
		if w.Action == "" {
			errs = append(errs, fmt.Errorf("workloads[%d].action: required", i))
		}
		check(fmt.Sprintf("workloads[%d].action", i), w.Action)
	}
	return errors.Join(errs...)
}

// Decide returns the action for a rule that fired on a workload.
func (p *Policy) Decide(ruleID string, deviation bool, w *event.Workload) Action {
	for _, wp := range p.Workloads {
		if wp.matches(ruleID, w) {
			return wp.Action
		}
	}
	if a, ok := p.Rules[ruleID]; ok {
		return a
	}
	if deviation && p.Deviations != "" {
		return p.Deviations
	}
	if p.Default != "" {
		return p.Default
	}
	return Alert
}

func (wp WorkloadPolicy) matches(ruleID string, w *event.Workload) bool {
	if len(wp.Rules) > 0 && !containsString(wp.Rules, ruleID) {
		return false
	}
	if w == nil {
		return wp.Namespace == "" && wp.Owner == "" && wp.Cgroup == ""
	}
	return glob(wp.Namespace, w.Namespace) && glob(wp.Owner, w.Owner) && (wp.Cgroup == "" || strings.HasPrefix(w.Cgroup, wp.Cgroup))
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pattern == s
}

// Outcome is what a response did.
type Outcome struct {
	// Action is what was decided.
	Action Action
	// Done is the finding.Event action: alerted, killed (or alerted in
	// dry-run, with DryRun set).
	Done   string
	DryRun bool
	// Latency is the time from the event to the signal or the delete.
	Latency time.Duration
	// Err is set when the kill or delete failed.
	Err error
}

// Responder carries out actions. It is safe for concurrent use.
type Responder struct {
	policy *Policy
	client kubernetes.Interface // nil: kill-pod falls back to kill

	mu      sync.Mutex
	deleted map[string]time.Time
}

// NewResponder returns a responder; client may be nil on hosts without
// Kubernetes, where kill-pod kills the process instead.
func NewResponder(p *Policy, client kubernetes.Interface) *Responder {
	if p == nil {
		p = &Policy{}
	}
	return &Responder{policy: p, client: client, deleted: map[string]time.Time{}}
}

// Policy returns the responder's policy.
func (r *Responder) Policy() *Policy { return r.policy }

// Respond decides and carries out the action for a rule that fired on e.
func (r *Responder) Respond(ctx context.Context, ruleID string, deviation bool, e *event.Event) Outcome {
	a := r.policy.Decide(ruleID, deviation, e.Workload)
	out := Outcome{Action: a, Done: "alerted"}
	if a == Alert {
		return out
	}
	if r.policy.DryRun {
		out.DryRun = true
		return out
	}
	if a == KillPod && (r.client == nil || e.Workload == nil || e.Workload.Pod == "") {
		a = Kill
	}
	switch a {
	case Kill:
		if e.PID == 0 {
			out.Err = errors.New("the event names no process to kill")
			return out
		}
		out.Err = KillProcess(int(e.PID))
	case KillPod:
		out.Err = r.deletePod(ctx, e.Workload.Namespace, e.Workload.Pod)
	}
	if !e.Time.IsZero() {
		out.Latency = time.Since(e.Time)
	}
	if out.Err == nil {
		out.Done = "killed"
	}
	return out
}

// deletePod deletes a pod with no grace period, once per minute at most.
func (r *Responder) deletePod(ctx context.Context, ns, name string) error {
	key := ns + "/" + name
	r.mu.Lock()
	if t, ok := r.deleted[key]; ok && time.Since(t) < time.Minute {
		r.mu.Unlock()
		return nil
	}
	r.deleted[key] = time.Now()
	if len(r.deleted) > 10000 {
		clear(r.deleted)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	zero := int64(0)
	if err := r.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	return nil
}
