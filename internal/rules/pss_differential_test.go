package rules_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

var (
	pssN    = flag.Int("pss.n", defaultPSSN, "number of random pods TestPSSDifferential generates")
	pssSeed = flag.Uint64("pss.seed", 1, "seed of TestPSSDifferential's pod generator")
)

// upstreamCheck is one Pod Security Standards check of the reference
// implementation at the latest policy version.
type upstreamCheck struct {
	id    string
	level api.Level
	fn    policy.CheckPodFn
	// overrides lists the baseline checks this restricted check replaces.
	overrides []string
}

// latestChecks returns upstream's default checks, each at the newest of its
// versions that applies to api.LatestVersion().
func latestChecks(t *testing.T) []upstreamCheck {
	t.Helper()
	latest := api.LatestVersion()
	var out []upstreamCheck
	for _, c := range policy.DefaultChecks() {
		var vc *policy.VersionedCheck
		for i := range c.Versions {
			if !latest.Older(c.Versions[i].MinimumVersion) {
				vc = &c.Versions[i]
			}
		}
		if vc == nil {
			continue
		}
		uc := upstreamCheck{id: string(c.ID), level: c.Level, fn: vc.CheckPod}
		for _, o := range vc.OverrideCheckIDs {
			uc.overrides = append(uc.overrides, string(o))
		}
		out = append(out, uc)
	}
	if len(out) == 0 {
		t.Fatal("the policy package has no checks")
	}
	return out
}

// levelChecks returns the IDs of the checks upstream runs at a level: all
// baseline checks for baseline; for restricted, the restricted checks plus
// the baseline checks no restricted check overrides.
func levelChecks(checks []upstreamCheck, level api.Level) []string {
	overridden := map[string]bool{}
	for _, c := range checks {
		if c.level == api.LevelRestricted {
			for _, o := range c.overrides {
				overridden[o] = true
			}
		}
	}
	var ids []string
	for _, c := range checks {
		switch {
		case level == api.LevelBaseline && c.level == api.LevelBaseline,
			level == api.LevelRestricted && c.level == api.LevelRestricted,
			level == api.LevelRestricted && !overridden[c.id]:
			ids = append(ids, c.id)
		}
	}
	sort.Strings(ids)
	return ids
}

// pssRules returns the built-in rules that implement a PSS check, by check
// ID, failing the test when a check ID is used by more than one rule.
func pssRules(t *testing.T) (all []*rules.Rule, byCheck map[string]*rules.Rule) {
	t.Helper()
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	byCheck = map[string]*rules.Rule{}
	for _, r := range all {
		for _, c := range r.Controls {
			id, ok := strings.CutPrefix(c, "PSS:")
			if !ok {
				continue
			}
			if prev, dup := byCheck[id]; dup {
				t.Errorf("PSS check %s is implemented by both %s and %s", id, prev.ID, r.ID)
			}
			byCheck[id] = r
		}
	}
	return all, byCheck
}

// TestPSSControls checks that the PSS controls of the built-in rules are
// exactly upstream's check IDs at the latest version, one rule per check,
// and that the pss-baseline and pss-restricted tags select exactly the
// checks upstream runs at each level.
func TestPSSControls(t *testing.T) {
	checks := latestChecks(t)
	_, byCheck := pssRules(t)
	upstream := map[string]bool{}
	for _, c := range checks {
		upstream[c.id] = true
		if byCheck[c.id] == nil {
			t.Errorf("upstream check %s (%s) has no rule with control PSS:%s", c.id, c.level, c.id)
		}
	}
	for id, r := range byCheck {
		if !upstream[id] {
			t.Errorf("%s: control PSS:%s is not a check of k8s.io/pod-security-admission", r.ID, id)
		}
	}
	for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
		t.Run(string(level), func(t *testing.T) {
			want := levelChecks(checks, level)
			var got []string
			for id, r := range byCheck {
				if slices.Contains(r.Tags, "pss-"+string(level)) {
					got = append(got, id)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("checks of rules tagged pss-%s:\n got  %v\n want %v", level, got, want)
			}
		})
	}
}

// TestPSSWindowsByOSNameOnly checks that no Pod Security Standards rule
// uses the workload variable isWindows: Pod Security Admission exempts a
// pod as Windows only by spec.os.name, so a rule that also counted a
// nodeSelector or node affinity on kubernetes.io/os, or a HostProcess
// container, would admit pods upstream rejects. (TestPSSDifferential
// generates such pods too.)
func TestPSSWindowsByOSNameOnly(t *testing.T) {
	_, byCheck := pssRules(t)
	for id, r := range byCheck {
		var text strings.Builder
		for _, v := range r.Variables {
			text.WriteString(v.Expression + "\n")
		}
		for _, v := range r.Validations {
			text.WriteString(v.Expression + "\n" + v.MessageExpression + "\n")
		}
		if strings.Contains(text.String(), "variables.isWindows") {
			t.Errorf("%s (PSS:%s) uses variables.isWindows; PSS rules must treat only spec.os.name windows as Windows, as Pod Security Admission does", r.ID, id)
		}
	}
}

// pssCase is one generated object with upstream's verdicts.
type pssCase struct {
	index    int
	obj      *k8s.Object
	upstream map[string]policy.CheckResult
	// levelAllowed is upstream's aggregate verdict per level, from its
	// evaluator.
	levelAllowed map[api.Level]bool
}

// TestPSSDifferential generates random pods, wraps each in a workload kind,
// and requires that every PSS rule agrees with its upstream check on every
// object, and that the rules tagged pss-baseline and pss-restricted together
// agree with upstream's evaluator at each level. Run with -pss.n and
// -pss.seed to change the size and the sample.
func TestPSSDifferential(t *testing.T) {
	checks := latestChecks(t)
	all, byCheck := pssRules(t)
	var podRules []*rules.Rule
	for _, r := range all {
		if strings.HasPrefix(r.ID, "KOR-POD-") && r.Match.Workloads {
			podRules = append(podRules, r)
		}
	}
	rs, err := rules.Compile(podRules)
	if err != nil {
		t.Fatal(err)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}

	cases := make([]pssCase, *pssN)
	objs := make([]*k8s.Object, *pssN)
	for i := range cases {
		o := generateObject(t, *pssSeed, i)
		meta, spec := typedPod(t, o)
		c := pssCase{index: i, obj: o, upstream: map[string]policy.CheckResult{}, levelAllowed: map[api.Level]bool{}}
		for _, uc := range checks {
			c.upstream[uc.id] = uc.fn(meta, spec)
		}
		for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
			results := evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: api.LatestVersion()}, meta, spec)
			c.levelAllowed[level] = policy.AggregateCheckResults(results).Allowed
		}
		cases[i] = c
		objs[i] = o
	}

	res, err := rs.Evaluate(context.Background(), objs, rules.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Errors {
		if i == 5 {
			t.Errorf("... %d evaluation errors in all", len(res.Errors))
			break
		}
		t.Errorf("evaluation error: %s", p.Message)
	}
	// findings[object name][rule ID] = message
	findings := map[string]map[string]string{}
	for _, f := range res.Findings {
		if findings[f.Resource.Name] == nil {
			findings[f.Resource.Name] = map[string]string{}
		}
		findings[f.Resource.Name][f.RuleID] = f.Message
	}

	type tally struct{ allowed, denied int }
	tallies := map[string]*tally{}
	var disagreements []string
	for _, c := range cases {
		got := findings[c.obj.Name()]
		for _, uc := range checks {
			r := byCheck[uc.id]
			if r == nil {
				continue // reported by TestPSSControls
			}
			want := c.upstream[uc.id]
			if tallies[uc.id] == nil {
				tallies[uc.id] = &tally{}
			}
			if want.Allowed {
				tallies[uc.id].allowed++
			} else {
				tallies[uc.id].denied++
			}
			msg, failed := got[r.ID]
			if failed == !want.Allowed {
				continue
			}
			disagreements = append(disagreements, describe(c, fmt.Sprintf(
				"check %s (rule %s): upstream allowed=%v (%s: %s), Kordon finding=%v %q",
				uc.id, r.ID, want.Allowed, want.ForbiddenReason, want.ForbiddenDetail, failed, msg)))
		}
		for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
			if tallies["level "+string(level)] == nil {
				tallies["level "+string(level)] = &tally{}
			}
			if c.levelAllowed[level] {
				tallies["level "+string(level)].allowed++
			} else {
				tallies["level "+string(level)].denied++
			}
			kordonAllowed := true
			for _, r := range byCheck {
				if _, failed := got[r.ID]; failed && slices.Contains(r.Tags, "pss-"+string(level)) {
					kordonAllowed = false
				}
			}
			if kordonAllowed != c.levelAllowed[level] {
				disagreements = append(disagreements, describe(c, fmt.Sprintf(
					"level %s: upstream evaluator allowed=%v, Kordon pss-%s rules allowed=%v (findings %v)",
					level, c.levelAllowed[level], level, kordonAllowed, ruleIDs(got))))
			}
		}
	}
	for i, d := range disagreements {
		if i == 5 {
			t.Errorf("... %d disagreements in all", len(disagreements))
			break
		}
		t.Error(d)
	}

	// Guard against a vacuous pass: every check must have been seen both
	// allowing and denying a fair number of pods.
	if *pssN >= 500 {
		for id, tl := range tallies {
			min := *pssN / 100
			if tl.allowed < min || tl.denied < min {
				t.Errorf("%s: generator gave %d allowed and %d denied pods, want at least %d of each",
					id, tl.allowed, tl.denied, min)
			}
		}
	}
	if testing.Verbose() {
		ids := make([]string, 0, len(tallies))
		for id := range tallies {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			t.Logf("%-28s allowed %5d  denied %5d", id, tallies[id].allowed, tallies[id].denied)
		}
		sample := map[string]string{}
		for _, f := range res.Findings {
			if _, ok := sample[f.RuleID]; !ok {
				sample[f.RuleID] = f.Resource.Name + ": " + f.Message
			}
		}
		for _, id := range ruleIDs(sample) {
			t.Logf("%s e.g. %s", id, sample[id])
		}
	}
}

// generateObject builds object i: a random pod wrapped in the i-th workload
// kind. Every other object goes through YAML and k8s.Decode, the path of
// objects read from files; the others are used as built.
func generateObject(t *testing.T, seed uint64, i int) *k8s.Object {
	t.Helper()
	meta, spec := newPodGen(seed, i).pod()
	content := wrap(i, fmt.Sprintf("pss-%d", i), meta, spec)
	if i%2 == 1 {
		return &k8s.Object{Content: content, Source: k8s.Source{File: "generated"}}
	}
	data, err := yaml.Marshal(content)
	if err != nil {
		t.Fatalf("object %d: marshal: %v", i, err)
	}
	objs, errs := k8s.Decode(data, "generated.yaml")
	if len(errs) > 0 || len(objs) != 1 {
		t.Fatalf("object %d: decode: %v (%d objects)\n%s", i, errs, len(objs), data)
	}
	return objs[0]
}

// typedPod converts an object's pod template to the typed objects upstream
// checks read, as the API server would decode it.
func typedPod(t *testing.T, o *k8s.Object) (*metav1.ObjectMeta, *corev1.PodSpec) {
	t.Helper()
	metaMap, specMap, ok := k8s.PodTemplate(o)
	if !ok {
		t.Fatalf("%s: no pod template", o.Ref())
	}
	meta := &metav1.ObjectMeta{}
	if metaMap != nil {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(metaMap, meta); err != nil {
			t.Fatalf("%s: convert metadata: %v", o.Ref(), err)
		}
	}
	spec := &corev1.PodSpec{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(specMap, spec); err != nil {
		t.Fatalf("%s: convert spec: %v", o.Ref(), err)
	}
	return meta, spec
}

func describe(c pssCase, what string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "object %d (%s; reproduce with -pss.seed=%d): %s\n", c.index, c.obj.Ref(), *pssSeed, what)
	data, err := yaml.Marshal(c.obj.Content)
	if err != nil {
		fmt.Fprintf(&b, "(cannot print: %v)", err)
	} else {
		b.Write(data)
	}
	return b.String()
}

func ruleIDs(m map[string]string) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// TestPSSRestrictedAdmitsSomeBaselineDenials pins a property of upstream
// that decides how the pss-* tags are assigned: because restricted checks
// replace some baseline checks, and the replacements exempt Windows pods or
// accept any volume with an allowed source, the restricted level admits a
// few pods the baseline level denies. The rules tagged pss-restricted must
// do the same.
func TestPSSRestrictedAdmitsSomeBaselineDenials(t *testing.T) {
	hardened := `
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}`
	container := `
  containers:
    - name: app
      image: example.com/app:1.0
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}`
	tests := []struct{ name, spec string }{
		{"windows pod with an unconfined seccomp profile", `
  os: {name: windows}
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: Unconfined}
  containers:
    - {name: app, image: example.com/app:1.0}`},
		{"windows pod adding SYS_ADMIN", `
  os: {name: windows}
  securityContext: {runAsNonRoot: true}
  containers:
    - name: app
      image: example.com/app:1.0
      securityContext:
        capabilities: {add: [SYS_ADMIN]}`},
		{"volume with a configMap and a hostPath source", hardened + container + `
  volumes:
    - name: both
      configMap: {name: cfg}
      hostPath: {path: /}`},
	}
	all, _ := pssRules(t)
	rs, err := rules.Compile(rules.Select(all, rules.Filter{Frameworks: []string{"PSS"}}))
	if err != nil {
		t.Fatal(err)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\nspec:" + tt.spec + "\n"
			objs, errs := k8s.Decode([]byte(doc), "test.yaml")
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			meta, spec := typedPod(t, objs[0])
			res, err := rs.Evaluate(context.Background(), objs, rules.EvalOptions{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatal(res.Errors[0].Message)
			}
			for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
				upstream := policy.AggregateCheckResults(evaluator.EvaluatePod(
					api.LevelVersion{Level: level, Version: api.LatestVersion()}, meta, spec)).Allowed
				if want := level == api.LevelRestricted; upstream != want {
					t.Fatalf("upstream %s allowed=%v, want %v: the premise of this test no longer holds", level, upstream, want)
				}
				var failed []string
				for _, f := range res.Findings {
					if r, _ := rules.ByID(all, f.RuleID); slices.Contains(r.Tags, "pss-"+string(level)) {
						failed = append(failed, f.RuleID)
					}
				}
				if got := len(failed) == 0; got != upstream {
					t.Errorf("pss-%s rules allowed=%v (findings %v), upstream allowed=%v", level, got, failed, upstream)
				}
			}
		})
	}
}
