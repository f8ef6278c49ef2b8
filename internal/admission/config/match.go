package config

import (
	"slices"
	"strings"
)

// MatchPattern reports whether s matches pattern, where * matches any run
// of characters (including /) and every other character matches itself.
func MatchPattern(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s = s[star:]
	rest := pattern[star+1:]
	for {
		if MatchPattern(rest, s) {
			return true
		}
		if s == "" {
			return false
		}
		s = s[1:]
	}
}

// MatchAny reports whether s matches one of the patterns.
func MatchAny(patterns []string, s string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return MatchPattern(p, s) })
}

// ServiceAccountPrefix starts the user name of every service account:
// system:serviceaccount:<namespace>:<name>.
const ServiceAccountPrefix = "system:serviceaccount:"

// Contains reports whether the user (with its groups) is one of the
// subjects. Service accounts match by their user name
// system:serviceaccount:<namespace>:<name>; namespace/* matches every
// service account of the namespace.
func (s Subjects) Contains(user string, groups []string) bool {
	if slices.Contains(s.Users, user) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(s.Groups, g) {
			return true
		}
	}
	if len(s.ServiceAccounts) == 0 || !strings.HasPrefix(user, ServiceAccountPrefix) {
		return false
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(user, ServiceAccountPrefix), ":")
	if !ok {
		return false
	}
	for _, sa := range s.ServiceAccounts {
		sns, sname, _ := strings.Cut(sa, "/")
		if sns == ns && (sname == "*" || sname == name) {
			return true
		}
	}
	return false
}

// String lists the subjects for messages: users, groups and service accounts.
func (s Subjects) String() string {
	var parts []string
	for _, u := range s.Users {
		parts = append(parts, "user "+u)
	}
	for _, g := range s.Groups {
		parts = append(parts, "group "+g)
	}
	for _, sa := range s.ServiceAccounts {
		parts = append(parts, "service account "+sa)
	}
	return strings.Join(parts, ", ")
}

// Specificity of a match of Subjects.Specificity, most specific last.
const (
	NoMatch = iota
	// MatchGroup: one of the user's groups is named.
	MatchGroup
	// MatchServiceAccountNamespace: a namespace/* names the service account.
	MatchServiceAccountNamespace
	// MatchExact: the user, or the service account namespace/name, is named.
	MatchExact
)

// Specificity says how specifically the subjects name the user: by name
// (users, or a service account's namespace/name), by a service account's
// namespace (namespace/*), by a group, or not at all (NoMatch).
func (s Subjects) Specificity(user string, groups []string) int {
	if slices.Contains(s.Users, user) {
		return MatchExact
	}
	best := NoMatch
	if ns, name, ok := strings.Cut(strings.TrimPrefix(user, ServiceAccountPrefix), ":"); ok && strings.HasPrefix(user, ServiceAccountPrefix) {
		for _, sa := range s.ServiceAccounts {
			sns, sname, _ := strings.Cut(sa, "/")
			if sns != ns {
				continue
			}
			if sname == name {
				return MatchExact
			}
			if sname == "*" {
				best = MatchServiceAccountNamespace
			}
		}
	}
	if best == NoMatch && slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(s.Groups, g) }) {
		best = MatchGroup
	}
	return best
}

// LimitFor returns the creation limit of a user and the index of the
// limits entry it comes from (-1 for the default Limit). The most specific
// entry that names the user and does not exclude them applies: a user or
// service account named exactly, then a service account's namespace
// (namespace/*), then a group. Among equally specific entries the lowest
// limit applies. A user no entry names has the default Limit.
func (c *CreationRate) LimitFor(user string, groups []string) (limit, entry int) {
	limit, entry = c.Limit, -1
	best := NoMatch
	for i, l := range c.Limits {
		sp := l.Subjects.Specificity(user, groups)
		if sp == NoMatch || l.Exclude.Contains(user, groups) {
			continue
		}
		if sp > best || (sp == best && l.Limit < limit) {
			best, limit, entry = sp, l.Limit, i
		}
	}
	return limit, entry
}
