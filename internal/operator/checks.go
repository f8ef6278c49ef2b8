package operator

import (
	"fmt"

	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/rules"
)

// ScanChecks compiles the catalogue's checks that kordon scan runs (CEL
// rules and the native NetworkPolicy isolation checks), for the posture
// loop.
func ScanChecks(cat *rules.Catalogue, selected []*rules.Rule) (posture.Checks, error) {
	impls := map[string]rules.NativeCheck{}
	for _, c := range isolation.Checks() {
		impls[c.ID()] = c
	}
	var runs []*rules.Rule
	var native []rules.NativeCheck
	for _, r := range selected {
		if !r.RunsIn(rules.EngineScan) {
			continue
		}
		runs = append(runs, r)
		if r.IsNative() {
			c, ok := impls[r.ID]
			if !ok {
				return posture.Checks{}, fmt.Errorf("native rule %s runs in scan but has no implementation", r.ID)
			}
			native = append(native, c)
		}
	}
	rs, err := rules.Compile(runs)
	if err != nil {
		return posture.Checks{}, err
	}
	return posture.Checks{Rules: rs, Native: native, Catalogue: cat}, nil
}
