package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(example.yaml): %v", err)
	}
	if got, want := len(c.Rules), 4; got != want {
		t.Errorf("rules: got %d, want %d", got, want)
	}
	if got, want := c.Governance.CreationRate.Window.Duration, time.Hour; got != want {
		t.Errorf("creationRate.window: got %s, want %s", got, want)
	}
	if got := c.Governance.ProtectedLabels.Labels[0].Value; got == nil || *got != "allowed" {
		t.Errorf("protectedLabels[0].value: got %v, want allowed", got)
	}
	if got := c.Rules[0].NamespaceSelector; got == nil || len(got.MatchExpressions) != 1 {
		t.Errorf("rules[0].namespaceSelector: got %+v, want one expression", got)
	}
	if got := c.Governance.RequireNetworkPolicy.Effective(); len(got) != 2 || got[1].Action != Enforce {
		t.Errorf("requireNetworkPolicy bindings: got %+v, want warn and enforce", got)
	}
	if got, _ := c.Governance.CreationRate.LimitFor("system:serviceaccount:ci:runner", nil); got != 1000 {
		t.Errorf("creationRate limit of ci/runner: got %d, want 1000", got)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: got %v, want none", c.Warnings)
	}
	if got, want := c.Timeout.Duration, 2*time.Second; got != want {
		t.Errorf("timeout: got %s, want %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown field", "rulez: []", []string{`unknown field "rulez"`}},
		{"bad action", "rules: [{name: a, select: {tags: [x]}, action: block}]", []string{`rules[0].action: "block": want enforce, warn or audit`}},
		{"empty select", "rules: [{name: a, select: {}, action: warn}]", []string{"rules[0].select: choose rules"}},
		{"duplicate name", "rules: [{name: a, select: {tags: [x]}, action: warn}, {name: a, select: {tags: [y]}, action: warn}]", []string{`rules[1].name: "a" is used twice`}},
		{"bad selector", "rules: [{name: a, select: {tags: [x]}, action: warn, namespaceSelector: {matchExpressions: [{key: k, operator: Bogus}]}}]", []string{"rules[0].namespaceSelector"}},
		{"bad kind", "rules: [{name: a, select: {tags: [x]}, action: warn, kinds: [deployment]}]", []string{`rules[0].kinds[0]: "deployment"`}},
		{"bad service account", "governance: {protectedLabels: {action: enforce, labels: [{key: a, allowed: {serviceAccounts: [gitops]}}]}}", []string{`governance.protectedLabels.labels[0].allowed.serviceAccounts[0]: "gitops": want namespace/name`}},
		{"no allowed", "governance: {protectedLabels: {action: enforce, labels: [{key: a}]}}", []string{"governance.protectedLabels.labels[0].allowed: name the users"}},
		{"scoping without namespaces", "governance: {namespaceScoping: {action: warn, subjects: [{users: [u]}]}}", []string{"governance.namespaceScoping.subjects[0].namespaces"}},
		{"rate limit", "governance: {creationRate: {action: warn, limit: 0, window: 1h}}", []string{"governance.creationRate.limit: must be a positive"}},
		{"rate window", "governance: {creationRate: {action: warn, limit: 5, window: 10ms}}", []string{"governance.creationRate.window: 10ms is outside"}},
		{"bad duration", "timeout: soon", []string{`duration "soon"`}},
		{"image pattern", "governance: {trustedImages: {action: enforce, allow: ['nginx@sha256']}}", []string{"is not a registry/repository pattern"}},
		{"several at once", "rules: [{name: a, select: {}, action: x}]", []string{"rules[0].select", "rules[0].action"}},
		{"action beside bindings", "governance: {requireNetworkPolicy: {action: warn, bindings: [{action: enforce}]}}", []string{"governance.requireNetworkPolicy.action: set the action of each of bindings"}},
		{"binding action", "governance: {requireNetworkPolicy: {bindings: [{action: warn}, {action: deny, namespaces: [a]}]}}", []string{`governance.requireNetworkPolicy.bindings[1].action: "deny"`}},
		{"no action nor bindings", "governance: {trustedImages: {allow: [x/*]}}", []string{`governance.trustedImages.action: "": want enforce`}},
		{"binding kind", "governance: {trustedImages: {bindings: [{action: warn, kinds: [Pods]}]}}", []string{`governance.trustedImages.bindings[0].kinds[0]: "Pods" is not a built-in kind: did you mean Pod?`}},
		{"plural kind", "rules: [{name: a, select: {tags: [x]}, action: warn, kinds: [Deployments]}]", []string{`did you mean Deployment?`}},
		{"kind in the wrong group", "rules: [{name: a, select: {tags: [x]}, action: warn, kinds: [apps/Pod]}]", []string{`"apps/Pod": Pod is in core, not in apps`}},
		{"unknown kind", "rules: [{name: a, select: {tags: [x]}, action: warn, kinds: [Widget]}]", []string{`"Widget" is not a built-in kind`, "group/Kind"}},
		{"group without a dot", "rules: [{name: a, select: {tags: [x]}, action: warn, kinds: [widgets/Widget]}]", []string{`no built-in API group "widgets"`}},
		{"rate limits", "governance: {creationRate: {action: warn, limit: 5, window: 1h, limits: [{limit: 3}, {groups: [g], limit: 0}, {serviceAccounts: [ci], limit: 2}]}}",
			[]string{"governance.creationRate.limits[0]: name the users", "governance.creationRate.limits[1].limit: must be a positive", `governance.creationRate.limits[2].serviceAccounts[0]: "ci"`}},
		{"nested unknown field", "governance:\n  creationRate:\n    action: warn\n    limit: 5\n    window: 1h\n    limits:\n      - users: [u]\n        limt: 3\n",
			[]string{`line 8: governance.creationRate.limits[0].limt: unknown field "limt" (did you mean limit?)`}},
		{"wrong type", "governance:\n  creationRate: {action: warn, limit: many, window: 1h}", []string{`line 2: governance.creationRate.limit: want a whole number, got "many"`}},
		{"list for a mapping", "rules:\n  - name: a\n    select: [x]\n    action: warn", []string{"line 3: rules[0].select: want a mapping"}},
		{"yaml syntax", "rules: [", []string{"line "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse: got no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	src := `timeout: 2s
rules:
  - name: pss
    select: {tags: [pss-restricted]}
    action: block
    kinds: [Pods, apps/Deployment, example.com/Widget]
governance:
  requireNetworkPolicy:
    bindings:
      - action: warn
      - action: enforce
        namespaceSelector:
          matchLabels: {ready: "true"}
          matchExpresions: []
`
	_, err := Parse([]byte(src))
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse: got %v, want an *Error", err)
	}
	// Every problem at once, by line: unknown fields and invalid values.
	want := []string{
		`line 5: rules[0].action: "block": want enforce, warn or audit`,
		`line 6: rules[0].kinds[0]: "Pods" is not a built-in kind: did you mean Pod?`,
		`line 14: governance.requireNetworkPolicy.bindings[1].namespaceSelector.matchExpresions: unknown field "matchExpresions" (did you mean matchExpressions?)`,
	}
	if got := problemStrings(cerr.Problems); !slices.Equal(got, want) {
		t.Errorf("Parse: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Load names the file.
	dir := t.TempDir()
	path := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	for i := range want {
		want[i] = path + ":" + strings.TrimPrefix(want[i], "line ")
	}
	if !errors.As(err, &cerr) {
		t.Fatalf("Load: got %v, want an *Error", err)
	}
	if got := problemStrings(cerr.Problems); !slices.Equal(got, want) {
		t.Errorf("Load: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Fixed again, the custom kind is a warning.
	fixed := strings.NewReplacer("matchExpresions", "matchExpressions", "block", "enforce", "Pods", "Pod").Replace(src)
	if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want = []string{path + `:6: rules[0].kinds[2]: "example.com/Widget": custom resource kind not checked; make sure the group and the Kind's spelling (singular, capitalised) are right`}
	if got := problemStrings(c.Warnings); !slices.Equal(got, want) {
		t.Errorf("warnings: got %q, want %q", got, want)
	}
	if got := len(c.Governance.RequireNetworkPolicy.Effective()); got != 2 {
		t.Errorf("bindings: got %d, want 2", got)
	}
}

func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestCheckKind(t *testing.T) {
	tests := []struct {
		kind    string
		wantMsg string // "" fine
		warning bool
	}{
		{"Pod", "", false},
		{"core/Pod", "", false},
		{"apps/Deployment", "", false},
		{"Deployment", "", false},
		{"networking.k8s.io/NetworkPolicy", "", false},
		{"CustomResourceDefinition", "", false},
		{"Pods", "did you mean Pod?", false},
		{"NetworkPolicies", "did you mean NetworkPolicy?", false},
		{"pod", "did you mean Pod?", false},
		{"Deploymnt", "did you mean Deployment?", false},
		{"apps/Deployments", "did you mean Deployment?", false},
		{"batch/Deployment", "Deployment is in apps, extensions, not in batch", false},
		{"cert-manager.io/Certificate", "custom resource kind not checked", true},
		{"/Pod", "want a Kind", false},
		{"apps/", "want a Kind", false},
		{"ListOptions", "is not a built-in kind", false},
	}
	for _, tt := range tests {
		msg, warning := checkKind(tt.kind)
		if (tt.wantMsg == "") != (msg == "") || !strings.Contains(msg, tt.wantMsg) || warning != tt.warning {
			t.Errorf("checkKind(%q) = %q, %v; want %q, %v", tt.kind, msg, warning, tt.wantMsg, tt.warning)
		}
	}
}

func TestLimitFor(t *testing.T) {
	c := &CreationRate{Limit: 100, Limits: []RateLimit{
		{Subjects: Subjects{Groups: []string{"interns"}}, Limit: 10},
		{Subjects: Subjects{Groups: []string{"batch"}}, Limit: 1000},
		{Subjects: Subjects{Groups: []string{"staff"}}, Exclude: Subjects{Users: []string{"carol"}}, Limit: 5},
		{Subjects: Subjects{Users: []string{"bob"}}, Limit: 50},
		{Subjects: Subjects{ServiceAccounts: []string{"ci/*"}}, Limit: 500},
		{Subjects: Subjects{ServiceAccounts: []string{"ci/nightly"}}, Limit: 2000},
	}}
	tests := []struct {
		user              string
		groups            []string
		wantLimit, wantAt int
	}{
		{"alice", nil, 100, -1},
		{"ivan", []string{"interns"}, 10, 0},
		{"ivan", []string{"batch", "interns"}, 10, 0}, // equally specific: the lowest limit
		{"bob", []string{"interns"}, 50, 3},           // a user named beats a group
		{"carol", []string{"staff"}, 100, -1},         // excluded from the staff entry
		{"dave", []string{"staff"}, 5, 2},
		{"system:serviceaccount:ci:runner", []string{"interns"}, 500, 4}, // namespace/* beats a group
		{"system:serviceaccount:ci:nightly", nil, 2000, 5},               // namespace/name beats namespace/*
		{"system:serviceaccount:cix:runner", nil, 100, -1},
	}
	for _, tt := range tests {
		limit, at := c.LimitFor(tt.user, tt.groups)
		if limit != tt.wantLimit || at != tt.wantAt {
			t.Errorf("LimitFor(%q, %v) = %d, %d; want %d, %d", tt.user, tt.groups, limit, at, tt.wantLimit, tt.wantAt)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"team-a", "team-a", true},
		{"team-a", "team-ab", false},
		{"team-a-*", "team-a-dev", true},
		{"team-a-*", "team-a", false},
		{"registry.example.com/*", "registry.example.com/app/web", true},
		{"registry.example.com/*", "registry.example.com.evil.io/app", false},
		{"*.example.com/*", "eu.example.com/app", true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.pattern, tt.s); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestSubjectsContains(t *testing.T) {
	s := Subjects{Users: []string{"alice"}, Groups: []string{"security-officers"}, ServiceAccounts: []string{"platform/gitops", "ci/*"}}
	tests := []struct {
		user   string
		groups []string
		want   bool
	}{
		{"alice", nil, true},
		{"bob", []string{"dev", "security-officers"}, true},
		{"bob", []string{"dev"}, false},
		{"system:serviceaccount:platform:gitops", nil, true},
		{"system:serviceaccount:platform:other", nil, false},
		{"system:serviceaccount:ci:runner", nil, true},
		{"system:serviceaccount:cix:runner", nil, false},
	}
	for _, tt := range tests {
		if got := s.Contains(tt.user, tt.groups); got != tt.want {
			t.Errorf("Contains(%q, %v) = %v, want %v", tt.user, tt.groups, got, tt.want)
		}
	}
}
