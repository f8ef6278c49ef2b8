// Package rxfilter is a sound literal pre-filter for Go regular expressions
// as Coraza's @rx operator runs them, and a multi-literal Matcher.
//
// Required derives, from a pattern's parsed and simplified syntax tree, a
// small set of ASCII-lowercased literals such that every string the regular
// expression matches contains at least one of them. A caller that finds none
// of a rule's literals in a value (with a Matcher, one pass over the value
// for all rules at once) knows the rule's regular expression cannot match
// that value and may skip it. Soundness is the point: a literal is required
// only when the regexp package cannot match without its bytes, on any input
// bytes, valid UTF-8 or not (invalid bytes match as U+FFFD, Unicode simple
// case folding lets (?i)k match U+212A KELVIN SIGN). When no such set is
// known, Required says so (ok=false) and the regular expression must always
// be run.
//
// The Matcher is an Aho–Corasick automaton over byte classes, comparing
// ASCII letters case-insensitively; it is also suited to @pm phrase lists.
package rxfilter
