// Package textmatch finds the word a user probably meant: the closest
// candidate by edit distance, for "did you mean" suggestions in error
// messages and warnings.
package textmatch

import "strings"

// Closest returns the candidate closest to s, ignoring case: at most two
// edits away and fewer edits than half of s. Of equally close candidates
// the first one wins. It returns "" when none is close.
func Closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := Distance(strings.ToLower(s), strings.ToLower(c))
		if d < bestD && d*2 < len(s) {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b (in bytes).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
