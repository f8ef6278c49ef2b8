// Package posture orchestrates a scan: objects are loaded, the compiled rule
// set is evaluated on them, exceptions are applied and compliance scores are
// computed into one finding.Report.
package posture
