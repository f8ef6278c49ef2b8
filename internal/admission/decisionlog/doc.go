// Package decisionlog reads the decision log of the admission webhook —
// the JSON lines `kordon admission serve` writes, one per decision, with
// msg "admission decision".
//
// Line and Rule define the fields of a decision line; the webhook writes
// its rules list with Rule, so writer and reader share one definition.
// Reader reads one log line by line, skipping lines that are not decision
// lines (other log messages, other programs' output).
package decisionlog
