// Package diff computes the semantic difference in connectivity between two
// configurations — connections added, removed or changed — rather than a
// text diff of the policies. Both sides are analysed with the same
// external address ranges so that ranges compare one to one. Package render
// prints the changes.
package diff
