package finding

import "time"

// Event is something that happened — a denied or audited admission, a
// blocked HTTP request, a process that left its workload's baseline, a
// network flow, a threat-intelligence match — described with the same
// check and resource metadata as a Finding, so that every sink (report
// formats, the event store, alert notifiers) takes both. A Finding is a
// state that is wrong; an Event is one occurrence. The JSON form is the
// contract documented in docs/findings-and-events.md.
type Event struct {
	// Time is when it happened (UTC).
	Time time.Time `json:"time"`
	// Engine is what observed it: admission, waf, sensor, flow, intel.
	Engine string `json:"engine"`
	// Action is what the engine did: denied, warned, audited, allowed,
	// blocked, killed, alerted or observed.
	Action string `json:"action"`
	// Actor is who or what caused it, when known.
	Actor *Actor `json:"actor,omitempty"`
	// Finding carries the check (rule ID, title, severity, controls,
	// remediation), the resource and the message. RuleID is empty for an
	// event no check judged (a plain flow record).
	Finding
	// Attributes are engine-specific details (request path, process
	// command line, peer address), flat strings so that every sink can
	// index them.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Actor is who caused an event: a Kubernetes user or service account, a
// client address, a process.
type Actor struct {
	User    string   `json:"user,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Address string   `json:"address,omitempty"`
	Process string   `json:"process,omitempty"`
}

// Event actions.
const (
	ActionDenied   = "denied"
	ActionWarned   = "warned"
	ActionAudited  = "audited"
	ActionAllowed  = "allowed"
	ActionBlocked  = "blocked"
	ActionKilled   = "killed"
	ActionAlerted  = "alerted"
	ActionObserved = "observed"
)
