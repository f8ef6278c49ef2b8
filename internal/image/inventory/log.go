package inventory

import scalibrlog "github.com/google/osv-scalibr/log"

// QuietLibraryLogs silences osv-scalibr's own logging (progress lines on
// standard error); problems still reach Result.Errors. The library keeps
// its logger in a package variable, so a program calls this once, at
// start-up (cmd/kordon does).
func QuietLibraryLogs() { scalibrlog.SetLogger(quiet{}) }

type quiet struct{}

func (quiet) Errorf(string, ...any) {}
func (quiet) Error(...any)          {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Warn(...any)           {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Info(...any)           {}
func (quiet) Debugf(string, ...any) {}
func (quiet) Debug(...any)          {}
