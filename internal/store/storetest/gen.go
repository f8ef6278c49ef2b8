// Package storetest generates realistic streams of Events and Findings
// for the store's tests and benchmarks: a seeded mix of admission
// decisions, flows, WAF blocks, sensor alerts, threat-intelligence matches
// and scan findings over many namespaces, so runs are repeatable.
package storetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Gen generates records spread evenly in time from Start, Step apart.
// It is not safe for concurrent use.
type Gen struct {
	Start      time.Time
	Step       time.Duration
	Namespaces int
	rnd        *rand.Rand
	n          int64
}

// New returns a generator with a fixed seed: records are spread Step
// apart from start over namespaces "ns-0" … "ns-(namespaces-1)".
func New(seed uint64, start time.Time, step time.Duration, namespaces int) *Gen {
	return &Gen{Start: start.UTC(), Step: step, Namespaces: namespaces, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var (
	admissionRules = []string{"KOR-POD-001", "KOR-POD-002", "KOR-IMG-001", "KOR-GOV-004", "KOR-GOV-002", "KOR-NET-002"}
	scanRules      = []string{"KOR-POD-009", "KOR-POD-013", "KOR-WL-001", "KOR-WL-005", "KOR-RBAC-005", "KOR-IMG-002"}
	kinds          = []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
	users          = []string{"system:serviceaccount:ci:deployer", "alice@example.com", "bob@example.com", "argocd"}
	processes      = []string{"/bin/sh", "/usr/bin/curl", "/usr/bin/nc", "/tmp/x"}
)

// Next returns the next record.
func (g *Gen) Next() store.Record {
	r := g.rnd
	t := g.Start.Add(time.Duration(g.n) * g.Step)
	g.n++
	// Namespaces are skewed: a few busy ones hold most records.
	ns := fmt.Sprintf("ns-%d", min(int(r.ExpFloat64()*float64(g.Namespaces)/6), g.Namespaces-1))
	app := fmt.Sprintf("app-%d", r.IntN(40))
	res := finding.Resource{APIVersion: "apps/v1", Kind: kinds[r.IntN(len(kinds))], Namespace: ns, Name: app}
	e := finding.Event{Time: t, Finding: finding.Finding{Resource: res, Controls: []string{}}}
	typ := store.TypeEvent
	switch p := r.IntN(100); {
	case p < 55: // flows
		e.Engine, e.Action = "flow", finding.ActionObserved
		e.Resource = finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: fmt.Sprintf("%s-%x", app, r.Uint32()&0xfffff)}
		e.Message = "flow"
		e.Attributes = map[string]string{
			"src":      fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)),
			"dst":      fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)),
			"dstPort":  fmt.Sprint([]int{53, 80, 443, 5432, 6379, 8080}[r.IntN(6)]),
			"protocol": []string{"TCP", "UDP"}[r.IntN(2)],
			"verdict":  []string{"FORWARDED", "FORWARDED", "FORWARDED", "DROPPED"}[r.IntN(4)],
			"bytes":    fmt.Sprint(r.IntN(1 << 20)),
		}
	case p < 75: // admission
		e.Engine = "admission"
		e.Action = []string{finding.ActionDenied, finding.ActionWarned, finding.ActionAudited}[r.IntN(3)]
		e.RuleID = admissionRules[r.IntN(len(admissionRules))]
		e.Title = "Admission check " + e.RuleID
		e.Severity = finding.Severity(r.IntN(5))
		e.Controls = []string{"CIS:5.2.1", "PSS:baseline"}
		e.Actor = &finding.Actor{User: users[r.IntN(len(users))], Groups: []string{"system:authenticated"}}
		e.Message = fmt.Sprintf("container %s: check %s failed", app, e.RuleID)
		e.Attributes = map[string]string{"source": "governance"}
	case p < 85: // WAF
		e.Engine, e.Action = "waf", finding.ActionBlocked
		e.RuleID = fmt.Sprintf("KOR-WAF-%03d", 1+r.IntN(20))
		e.Severity = finding.Severity(1 + r.IntN(4))
		e.Actor = &finding.Actor{Address: fmt.Sprintf("203.0.113.%d", r.IntN(256))}
		e.Message = "request blocked"
		e.Attributes = map[string]string{"path": fmt.Sprintf("/api/v1/items/%d", r.IntN(1000)), "method": "GET"}
	case p < 90: // sensor
		e.Engine, e.Action = "sensor", finding.ActionAlerted
		e.RuleID = "KOR-RT-001"
		e.Severity = finding.High
		e.Actor = &finding.Actor{Process: processes[r.IntN(len(processes))]}
		e.Message = "process left the workload's baseline"
	case p < 93: // intel
		e.Engine, e.Action = "intel", finding.ActionAlerted
		e.RuleID = "KOR-INTEL-001"
		e.Severity = finding.Critical
		e.Message = "connection to a known-bad address"
		e.Attributes = map[string]string{"indicator": fmt.Sprintf("198.51.100.%d", r.IntN(256)), "feed": "example"}
	default: // scan findings
		typ = store.TypeFinding
		e.Engine = "scan"
		e.RuleID = scanRules[r.IntN(len(scanRules))]
		e.Title = "Scan check " + e.RuleID
		e.Severity = finding.Severity(r.IntN(5))
		e.Controls = []string{"CIS:5.7.3"}
		e.Location = &finding.Location{File: "deploy/" + app + ".yaml", Line: 1 + r.IntN(200)}
		e.Message = "resource fails " + e.RuleID
		e.Remediation = "Fix it."
	}
	return store.Record{Type: typ, Event: e}
}

// Batch returns the next n records.
func (g *Gen) Batch(n int) []store.Record {
	out := make([]store.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}
