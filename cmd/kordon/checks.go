package main

import (
	"fmt"

	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/rules"
)

// scanNativeChecks returns the Go implementations of the native rules
// kordon scan runs: the one place that wires native checks to the scan.
func scanNativeChecks() []rules.NativeCheck { return isolation.Checks() }

// nativeFor returns the implementations of the selected native rules that
// the engine runs; a selected native rule without an implementation is a
// programming error, reported as such.
func nativeFor(engine string, selected []*rules.Rule, impls []rules.NativeCheck) ([]rules.NativeCheck, error) {
	byID := map[string]rules.NativeCheck{}
	for _, c := range impls {
		byID[c.ID()] = c
	}
	var out []rules.NativeCheck
	for _, r := range selected {
		if !r.IsNative() || !r.RunsIn(engine) {
			continue
		}
		c, ok := byID[r.ID]
		if !ok {
			return nil, fmt.Errorf("native rule %s runs in %s but has no implementation there", r.ID, engine)
		}
		out = append(out, c)
	}
	return out, nil
}
