package render

import (
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/reference"
)

// endpointText is how every text format names one end of a connection: a
// workload as "namespace/name (Kind)", an address or address range as
// itself. Ports in words come from portset.Text (or Set.String).
func endpointText(name, kind string) string {
	if kind == analyzer.IPBlockKind {
		return name
	}
	return name + " (" + kind + ")"
}

// partyText is endpointText for one end of an explained connection.
func partyText(p reference.Party) string {
	if p.Workload != nil {
		return endpointText(p.Workload.ID(), p.Workload.Kind)
	}
	return endpointText(p.Addr.String(), analyzer.IPBlockKind)
}
