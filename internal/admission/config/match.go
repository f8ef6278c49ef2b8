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
