// Package decisionlog reads the decision log of the admission webhook —
// the JSON lines `kordon admission serve` writes, one per decision, with
// msg "admission decision" — and turns the violations it records back into
// findings through the rule catalogue, so that what the webhook enforced,
// warned about or only audited can be reported in every output format.
//
// Line and Rule define the fields of a decision line; the webhook writes
// its rules list with Rule, so writer and reader share one definition.
// Reader reads one log line by line, skipping lines that are not decision
// lines (other log messages, other programs' output). Collector reads any
// number of logs and makes a pipeline.Input of one finding per distinct
// violation of an object, with how often it was seen.
package decisionlog
