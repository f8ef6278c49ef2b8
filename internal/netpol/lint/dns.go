package lint

import (
	"fmt"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// dns reports egress-isolated workloads that no egress rule lets reach
// UDP port 53 anywhere.
func (l *linter) dns() {
	dnsServer := &model.Workload{Ports: []model.ContainerPort{{Name: "dns", Protocol: portset.UDP, Port: 53}, {Name: "dns-tcp", Protocol: portset.TCP, Port: 53}}}
	for i := range l.c.Workloads {
		w := &l.c.Workloads[i]
		isolated, dns := false, false
		for pi := range l.c.Policies {
			p := &l.c.Policies[pi]
			if !p.AffectsEgress || !p.Selects(w) {
				continue
			}
			isolated = true
			for _, r := range p.Egress {
				if r.RulePorts(dnsServer).Contains(portset.UDP, 53) {
					dns = true
				}
			}
		}
		if isolated && !dns {
			l.add(MissingDNSID, workloadResource(w), w.Source,
				fmt.Sprintf("egress of %s %s is restricted and no egress rule allows UDP/53: DNS lookups will fail", w.Kind, w.ID()))
		}
	}
}
