package config

import (
	"os"
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
