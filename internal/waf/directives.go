package waf

import (
	"fmt"
	"strings"
)

// testSettings is rule 900005 of CRS's tests/regression/README.md, the
// settings CRS's regression tests are written for, without its
// ctl:ruleEngine=DetectionOnly (the engine mode stays the caller's), plus
// the two argument limits CRS's own test environment sets and its tests
// of 920380 and 920390 need (tx.total_arg_length, tx.max_num_args; as in
// Coraza's CRS test set-up).
const testSettings = `SecAction "id:900005,\
  phase:1,\
  nolog,\
  pass,\
  ctl:ruleRemoveById=910000,\
  setvar:tx.blocking_paranoia_level=4,\
  setvar:tx.crs_validate_utf8_encoding=1,\
  setvar:tx.arg_name_length=100,\
  setvar:tx.arg_length=400,\
  setvar:tx.total_arg_length=64000,\
  setvar:tx.max_num_args=255,\
  setvar:tx.max_file_size=64100,\
  setvar:tx.combined_file_sizes=65535"
`

// speedSettings make Coraza do less work per request without changing
// a verdict (TestEquivalence compares every decision with and without
// them; docs/benchmarks.md has the figures): Coraza's audit log is not
// used (decisions are reported as events), so refused requests need not
// build it. Coraza's experimental regex pre-filter (SecRxPreFilter) is
// left off: it loses matches of CRS rules 942220 and 932311 (CRS tests
// 942220-2 and 932311-7).
const speedSettings = `SecAuditEngine Off
`

// exclusionBaseID is the first rule ID of the generated per-route
// exclusion rules (CRS reserves 900000-999999; 1-99999 are for local
// rules).
const exclusionBaseID = 10000

// directives renders the Coraza configuration of c: Coraza's recommended
// base, the engine settings, CRS's setup and rules, in the order CRS
// requires (settings before crs-setup, which only fills unset values).
func directives(c Config) string {
	var b strings.Builder
	b.WriteString("Include @coraza.conf-recommended\n")
	if !c.baseline {
		b.WriteString(speedSettings)
	}
	b.WriteString(c.extra)
	if c.Mode == ModeDetect {
		b.WriteString("SecRuleEngine DetectionOnly\n")
	} else {
		b.WriteString("SecRuleEngine On\n")
	}
	// Coraza refuses a body that reaches its limit: one over ours makes
	// RequestBodyLimit the largest body accepted.
	fmt.Fprintf(&b, "SecRequestBodyLimit %d\n", c.RequestBodyLimit+1)
	fmt.Fprintf(&b, "SecRequestBodyInMemoryLimit %d\n", min(c.RequestBodyLimit+1, 128<<10))
	fmt.Fprintf(&b, "SecResponseBodyLimit %d\n", c.ResponseBodyLimit)
	// Response rules use "block", which takes the phase's default action.
	b.WriteString("SecDefaultAction \"phase:3,log,auditlog,pass\"\n")
	b.WriteString("SecDefaultAction \"phase:4,log,auditlog,pass\"\n")
	// Phase-5 rules without log/nolog log, as in ModSecurity: Coraza
	// gives only phase 2 a built-in default, so CRS's reporting rule
	// 980170 would match unlogged (CRS's tests 980170-1/2 expect it in
	// the log).
	b.WriteString("SecDefaultAction \"phase:5,log,auditlog,pass\"\n")
	// CRS's setup (900000 and 900110 of crs-setup.conf.example, which
	// ships them commented out).
	if !c.TestMode {
		fmt.Fprintf(&b, "SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d,setvar:tx.detection_paranoia_level=%d\"\n", c.Paranoia, c.Paranoia)
	}
	fmt.Fprintf(&b, "SecAction \"id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=%d\"\n",
		c.InboundThreshold, c.OutboundThreshold)
	if c.TestMode {
		b.WriteString(testSettings)
	}
	for i, e := range c.Exclusions {
		writeExclusion(&b, exclusionBaseID+i*2, e)
	}
	b.WriteString("Include @crs-setup.conf.example\n")
	b.WriteString("Include @owasp_crs/*.conf\n")
	return b.String()
}

// writeExclusion renders one per-route exclusion as a phase-1 rule that
// removes the rules for the request (validated input: no quotes).
func writeExclusion(b *strings.Builder, id int, e Exclusion) {
	var ctls []string
	for _, r := range e.Rules {
		ctls = append(ctls, "ctl:ruleRemoveById="+r)
	}
	if len(e.Methods) == 0 {
		fmt.Fprintf(b, "SecRule REQUEST_FILENAME \"@beginsWith %s\" \"id:%d,phase:1,pass,nolog,t:none,%s\"\n",
			e.PathPrefix, id, strings.Join(ctls, ","))
		return
	}
	fmt.Fprintf(b, "SecRule REQUEST_FILENAME \"@beginsWith %s\" \"id:%d,phase:1,pass,nolog,t:none,chain\"\n", e.PathPrefix, id)
	fmt.Fprintf(b, "  SecRule REQUEST_METHOD \"@within %s\" \"t:none,%s\"\n", strings.Join(e.Methods, " "), strings.Join(ctls, ","))
}
