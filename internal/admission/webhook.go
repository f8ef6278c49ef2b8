package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"time"

	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/governance"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Options configures a Webhook.
type Options struct {
	// Config is the validated configuration.
	Config *config.Config
	// Catalogue is the rule catalogue the configuration selects from.
	Catalogue []*rules.Rule
	// OwnNamespace is the namespace the webhook runs in; it is never judged
	// (with kube-system), so that the webhook cannot block its own repair.
	OwnNamespace string
	// NetworkPolicies lists NetworkPolicies (an informer's lister); required
	// when governance.requireNetworkPolicy is set.
	NetworkPolicies networkinglisters.NetworkPolicyLister
	// Namespaces lists Namespaces for namespace selectors; nil means every
	// namespace is unknown (has no labels).
	Namespaces corelisters.NamespaceLister
	// NamespaceGetter, when set, reads a namespace the lister does not know
	// yet from the API server (a namespace created a moment before the
	// objects in it), so that no request slips past a namespace selector
	// while the cache catches up.
	NamespaceGetter func(ctx context.Context, name string) (map[string]string, bool)
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger
	// Metrics records decisions; nil records nothing.
	Metrics *Metrics
	// Now is the clock of the creation-rate policy; nil means time.Now.
	Now func() time.Time
	// Limits bound the reviews read and evaluated at once (zero fields
	// take DefaultLimits).
	Limits Limits
	// LogAllowedEvery logs one in every n admitted requests without
	// violations at info; the others are logged at debug. 0 logs none of
	// them at info.
	LogAllowedEvery int
}

// Webhook judges admission requests. It is built once at start-up and is
// safe for concurrent use.
type Webhook struct {
	catalogue  *rules.Catalogue
	bindings   []*binding
	policies   []*policyEntry
	excluded   []string
	timeout    time.Duration
	namespaces corelisters.NamespaceLister
	nsGetter   func(context.Context, string) (map[string]string, bool)
	log        *slog.Logger
	metrics    *Metrics
	rate       *governance.CreationRate

	failureAction   config.FailureAction
	limiter         *limiter
	logAllowedEvery int
	allowedSeen     atomic.Uint64
}

// policyEntry is a governance policy with its scope and bindings.
type policyEntry struct {
	policy governance.Policy
	// scope applies to every binding.
	scope    *scope
	bindings []policyBinding
}

// policyBinding is one compiled config.PolicyBinding.
type policyBinding struct {
	scope  *scope
	action config.Action
	// workloadsOnly limits the binding to workload kinds when neither it
	// nor its policy names kinds (the creation rate).
	workloadsOnly bool
}

// action returns the action the policy applies to req with, and whether
// the policy applies at all: the request must be in the policy's scope and
// in at least one binding's scope. When several bindings match, the
// strictest action wins (enforce, then warn, then audit), whatever their
// order, so that adding a warn binding never weakens an enforcing one.
func (p *policyEntry) action(req *governance.Request, nsLabels namespaceLabels) (config.Action, bool) {
	if !p.scope.matches(req, nsLabels) {
		return "", false
	}
	var best config.Action
	for _, b := range p.bindings {
		if b.workloadsOnly && !k8s.IsWorkload(req.Group, req.Kind) {
			continue
		}
		if b.action.Stricter(best) && b.scope.matches(req, nsLabels) {
			best = b.action
		}
	}
	return best, best != ""
}

// kubeSystem is never judged, nor is the webhook's own namespace.
const kubeSystem = "kube-system"

// New compiles the configuration's rules and builds its policies. It
// returns notes about rules left out (they read the inventory) and an
// error listing every configuration problem.
func New(opts Options) (*Webhook, []string, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, nil, errors.New("admission: no configuration")
	}
	cat, err := rules.NewCatalogue(opts.Catalogue)
	if err != nil {
		return nil, nil, fmt.Errorf("admission: %w", err)
	}
	bindings, skipped, err := compileBindings(cfg, opts.Catalogue)
	if err != nil {
		return nil, nil, err
	}
	w := &Webhook{
		catalogue:  cat,
		bindings:   bindings,
		excluded:   append([]string{kubeSystem}, cfg.ExcludeNamespaces...),
		timeout:    cfg.Timeout.Duration,
		namespaces: opts.Namespaces,
		nsGetter:   opts.NamespaceGetter,
		log:        opts.Logger,
		metrics:    opts.Metrics,
	}
	if err := config.ValidFailureAction(cfg.FailureAction); err != nil {
		return nil, nil, err
	}
	w.failureAction = cfg.FailureAction
	if w.failureAction == "" {
		w.failureAction = config.FailDeny
	}
	w.limiter = newLimiter(opts.Limits)
	w.logAllowedEvery = opts.LogAllowedEvery
	if opts.OwnNamespace != "" {
		w.excluded = append(w.excluded, opts.OwnNamespace)
	}
	if w.timeout == 0 {
		w.timeout = config.DefaultTimeout
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	// add compiles a policy's bindings. Policies counting workloads by
	// default (the creation rate) apply to workload kinds only where
	// neither the policy nor a binding names kinds.
	add := func(p governance.Policy, pb config.PolicyBindings, defaultWorkloads bool) {
		if _, ok := cat.Lookup(p.ID()); !ok {
			errs = append(errs, fmt.Errorf("governance %s: the policy is not in the rule catalogue", p.ID()))
			return
		}
		sc, err := compileScope(pb.Scope)
		if err != nil {
			errs = append(errs, fmt.Errorf("governance %s: %w", p.ID(), err))
			return
		}
		e := &policyEntry{policy: p, scope: sc}
		for i, b := range pb.Effective() {
			bsc, err := compileScope(b.Scope)
			if err != nil {
				errs = append(errs, fmt.Errorf("governance %s bindings[%d]: %w", p.ID(), i, err))
				return
			}
			e.bindings = append(e.bindings, policyBinding{scope: bsc, action: b.Action,
				workloadsOnly: defaultWorkloads && len(pb.Kinds) == 0 && len(b.Kinds) == 0})
		}
		w.policies = append(w.policies, e)
	}
	g := cfg.Governance
	if p := g.RequireNetworkPolicy; p != nil {
		if opts.NetworkPolicies == nil {
			errs = append(errs, errors.New("governance.requireNetworkPolicy needs a NetworkPolicy informer"))
		} else {
			add(governance.NewRequireNetworkPolicy(opts.NetworkPolicies), p.PolicyBindings, false)
		}
	}
	if p := g.ProtectedLabels; p != nil {
		add(governance.NewProtectedLabels(p), p.PolicyBindings, false)
	}
	if p := g.NamespaceScoping; p != nil {
		add(governance.NewNamespaceScoping(p), p.PolicyBindings, false)
	}
	if p := g.TrustedImages; p != nil {
		add(governance.NewTrustedImages(p), p.PolicyBindings, false)
	}
	if p := g.CreationRate; p != nil {
		w.rate = governance.NewCreationRate(p, opts.Now)
		add(w.rate, p.PolicyBindings, true)
	}
	if p := g.VerifiedImages; p != nil {
		if vi, err := governance.NewVerifiedImages(p); err != nil {
			errs = append(errs, err)
		} else {
			add(vi, p.PolicyBindings, false)
		}
	}
	if p := g.VulnerableImages; p != nil {
		add(governance.NewVulnerableImages(p, opts.Now), p.PolicyBindings, false)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if w.metrics != nil && w.rate != nil {
		w.metrics.watchRate(w.rate)
	}
	return w, skipped, nil
}

// Judged is a finding with the action configured for its rule or policy.
type Judged struct {
	finding.Finding
	Action config.Action `json:"action"`
	// Source is the rule binding's name or "governance".
	Source string `json:"source"`
}

// Decision is the webhook's answer to one request.
type Decision struct {
	// Allowed is false when a finding's action is enforce.
	Allowed bool
	// Excluded says why the request was not judged ("" when it was).
	Excluded string
	// Violations lists every finding, enforce, warn and audit alike.
	Violations []Judged
	// Errors are checks that could not decide (a CEL runtime error, a
	// failed cache); they do not deny by themselves.
	Errors []string
	// Failed is set when a check whose action is enforce could not decide
	// (or no decision came within the budget): the webhook then answers
	// per the configuration's failureAction (deny, or allow with a
	// warning). It is never turned into a violation.
	Failed error
}

// Findings returns the decision's findings (every action), for the
// shared report formats.
func (d *Decision) Findings() []finding.Finding {
	out := make([]finding.Finding, len(d.Violations))
	for i, v := range d.Violations {
		out[i] = v.Finding
	}
	return out
}

// Decide judges one request with every rule binding and policy in scope.
// Findings name the request's object. When a check that enforces cannot
// decide (its evaluation fails, the evaluation budget — config timeout —
// runs out, a cache it reads fails), Decision.Failed says so.
func (w *Webhook) Decide(ctx context.Context, req *governance.Request) *Decision {
	d := &Decision{Allowed: true}
	if ns := req.TargetNamespace(); ns != "" && config.MatchAny(w.excluded, ns) {
		d.Excluded = "namespace " + ns + " is excluded"
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	res := requestResource(req)
	fail := func(action config.Action, err error) {
		d.Errors = append(d.Errors, err.Error())
		if action == config.Enforce && d.Failed == nil {
			d.Failed = err
		}
	}
	nsLabels := func(name string) (map[string]string, bool) { return w.namespaceLabels(ctx, name) }
	if req.Object != nil && !terminating(req) {
		preserving := templatePreservingUpdate(req)
		for _, b := range w.bindings {
			if !b.scope.matches(req, nsLabels) {
				continue
			}
			fs, problems, err := b.evaluate(ctx, req.Object)
			if err == nil && preserving && len(fs) > 0 {
				fs, err = b.dropInherited(ctx, req.OldObject, fs)
			}
			if err != nil {
				fail(b.action, fmt.Errorf("rules %s could not be evaluated in time: %w", b.name, err))
				continue
			}
			for _, p := range problems {
				d.Errors = append(d.Errors, p.Message)
			}
			for _, f := range fs {
				f.Resource = res
				d.Violations = append(d.Violations, Judged{Finding: f, Action: b.action, Source: b.name})
			}
		}
	}
	for _, p := range w.policies {
		action, ok := p.action(req, nsLabels)
		if !ok {
			continue
		}
		// A policy may return the violations it found beside an error
		// about the parts it could not decide: both count.
		vs, err := p.policy.Check(ctx, req)
		if err != nil {
			fail(action, fmt.Errorf("governance %s could not decide: %w", p.policy.ID(), err))
		}
		for _, v := range vs {
			f, err := w.catalogue.Finding(v.ID, rules.Outcome{Resource: res, Failed: true, Message: v.Message, Remediation: v.Remediation})
			if err != nil {
				fail(action, err)
				continue
			}
			a := action
			if v.AtMost != "" && a.Stricter(v.AtMost) {
				a = v.AtMost
			}
			d.Violations = append(d.Violations, Judged{Finding: f, Action: a, Source: "governance"})
		}
	}
	for _, v := range d.Violations {
		if v.Action == config.Enforce {
			d.Allowed = false
		}
	}
	if d.Allowed && d.Failed == nil && ctx.Err() == nil {
		// Only a request admitted in time counts (a late decision is
		// answered by failureAction instead).
		for _, p := range w.policies {
			r, ok := p.policy.(governance.Recorder)
			if !ok {
				continue
			}
			if _, applies := p.action(req, nsLabels); !applies {
				continue
			}
			r.Record(req)
		}
	}
	return d
}

// requestResource names the request's object as findings do.
func requestResource(req *governance.Request) finding.Resource {
	apiVersion := ""
	name := req.Name
	if req.Object != nil {
		apiVersion = req.Object.APIVersion()
		if name == "" {
			name = req.Object.Name()
		}
	} else if req.OldObject != nil {
		apiVersion = req.OldObject.APIVersion()
	}
	return finding.Resource{APIVersion: apiVersion, Kind: req.Kind, Namespace: req.Namespace, Name: name}
}

// templatePreservingUpdate reports whether req updates a workload (a Pod
// or a controller) without changing the spec of the pods it runs: a
// relabelling, a finalizer or owner-reference change, a ReplicaSet scaled
// by its Deployment. Such an update is judged only on violations the stored
// object did not already have, so that objects stored before a rule was
// enforced can still be scaled, relabelled and garbage-collected — a
// rollout that fixes a Deployment scales its old ReplicaSet down — while a
// change that makes things worse (a Deployment scaled to one replica) is
// still caught. An update that changes the pod spec is judged in full.
func templatePreservingUpdate(req *governance.Request) bool {
	if req.Operation != governance.Update || req.OldObject == nil || !k8s.IsWorkload(req.Group, req.Kind) {
		return false
	}
	_, spec, ok := k8s.PodTemplate(req.Object)
	_, oldSpec, oldOK := k8s.PodTemplate(req.OldObject)
	return ok && oldOK && reflect.DeepEqual(spec, oldSpec)
}

// terminating reports whether the object is being deleted (an update that
// removes a finalizer, say): catalogue rules do not judge it.
func terminating(req *governance.Request) bool {
	md := k8s.Map(req.Object.Content, "metadata")
	_, ok := md["deletionTimestamp"]
	return ok && req.Operation == governance.Update
}

func (w *Webhook) namespaceLabels(ctx context.Context, name string) (map[string]string, bool) {
	if w.namespaces != nil {
		if ns, err := w.namespaces.Get(name); err == nil {
			return ns.Labels, true
		}
	}
	if w.nsGetter != nil {
		return w.nsGetter(ctx, name)
	}
	return nil, false
}

// Events returns the decision's findings as events (engine "admission"):
// an enforced finding of a denied request is "denied", a warn finding
// "warned", an audit finding "audited". at is when the request was
// decided; actor is the requesting user.
func (d *Decision) Events(at time.Time, actor finding.Actor) []finding.Event {
	out := make([]finding.Event, 0, len(d.Violations))
	for _, v := range d.Violations {
		e := finding.Event{Time: at.UTC(), Engine: "admission", Actor: &actor, Finding: v.Finding,
			Attributes: map[string]string{"source": v.Source}}
		switch v.Action {
		case config.Enforce:
			e.Action = finding.ActionDenied
		case config.Warn:
			e.Action = finding.ActionWarned
		default:
			e.Action = finding.ActionAudited
		}
		out = append(out, e)
	}
	return out
}
