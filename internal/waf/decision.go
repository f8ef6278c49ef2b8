package waf

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Checks of the proxy itself (CRS families are KOR-WAF-<family>).
const (
	CheckBodyTooLarge  = "KOR-WAF-001"
	CheckBodyMalformed = "KOR-WAF-002"
	CheckEngineFailure = "KOR-WAF-003"
)

// families are the CRS rule families (the first three digits of a CRS
// rule ID) reported as catalogue checks.
var families = []int{911, 913, 920, 921, 922, 930, 931, 932, 933, 934, 941, 942, 943, 944, 949,
	950, 951, 952, 953, 954, 955, 956, 959, 980}

// ruleScoreReport is CRS's phase-5 reporting rule (RESPONSE-980-CORRELATION).
const ruleScoreReport = 980170

// IDs returns the catalogue IDs of every check the WAF reports.
func IDs() []string {
	ids := []string{CheckBodyTooLarge, CheckBodyMalformed, CheckEngineFailure}
	for _, f := range families {
		ids = append(ids, "KOR-WAF-"+strconv.Itoa(f))
	}
	return ids
}

// CheckOf returns the catalogue check a rule ID is reported under: its
// CRS family, KOR-WAF-002 for Coraza's body-parsing rules, or "" for a
// rule no check covers (CRS's own set-up rules, which never log).
func CheckOf(ruleID int) string {
	switch ruleID {
	case 200002, 200003:
		return CheckBodyMalformed
	case ruleScoreReport:
		// CRS's phase-5 summary of the anomaly scores: every event already
		// carries the scores; it is no finding of its own.
		return ""
	}
	if ruleID >= 900000 && ruleID <= 999999 && slices.Contains(families, ruleID/1000) {
		return "KOR-WAF-" + strconv.Itoa(ruleID/1000)
	}
	return ""
}

// Match is one logged rule that matched.
type Match struct {
	RuleID int `json:"ruleID"`
	// Check is the catalogue check it is reported under ("" when none).
	Check   string `json:"check"`
	Phase   int    `json:"phase"`
	Message string `json:"message"`
	// Data is what matched, redacted (see Redact).
	Data string `json:"data,omitempty"`
}

func matchOf(mr types.MatchedRule) Match {
	m := Match{RuleID: mr.Rule().ID(), Phase: int(mr.Rule().Phase()), Message: mr.Message()}
	m.Check = CheckOf(m.RuleID)
	mds := mr.MatchedDatas()
	// Coraza walks a collection (headers, arguments) in Go's random map
	// order: order each run of one variable's entries by key and value,
	// so that the same request always reports the same data.
	var parts []string
	for i := 0; i < len(mds) && len(parts) < 3; {
		j := i + 1
		for j < len(mds) && mds[j].Variable() == mds[i].Variable() {
			j++
		}
		run := slices.Clone(mds[i:j])
		slices.SortStableFunc(run, func(a, b types.MatchData) int {
			return cmp.Or(strings.Compare(a.Key(), b.Key()), strings.Compare(a.Value(), b.Value()))
		})
		for _, md := range run[:min(len(run), 3-len(parts))] {
			name := md.Variable().Name()
			if md.Key() != "" {
				name += ":" + md.Key()
			}
			parts = append(parts, name+"="+Redact(md.Key(), md.Value()))
		}
		i = j
	}
	m.Data = strings.Join(parts, "; ")
	return m
}

// Decision is the engine's verdict on one request and its response.
type Decision struct {
	Request *Request
	Mode    Mode
	// Blocked is the block, nil when the request passed.
	Blocked *Block
	// Matches are the logged rules that matched, in evaluation order.
	Matches []Match
	// InboundScore and OutboundScore are CRS's blocking anomaly scores.
	InboundScore, OutboundScore int
}

// LoggedIDs returns the IDs of the logged rules that matched, ascending,
// without repeats.
func (d *Decision) LoggedIDs() []int {
	ids := make([]int, 0, len(d.Matches))
	for _, m := range d.Matches {
		ids = append(ids, m.RuleID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// LoggedIDsHeader formats LoggedIDs as the X-Kordon-Waf-Rules value.
func (d *Decision) LoggedIDsHeader() string {
	ids := d.LoggedIDs()
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// Events returns the decision as events (engine "waf"): one per check
// whose rules matched, with the CRS rule IDs, the anomaly scores and the
// redacted matched data as attributes. The action is "blocked" when the
// request or response was refused, "alerted" when detect mode would have
// refused it, else "observed". A refused request with no matched check
// (a body over the limit) gets the proxy's own check. Checks the
// catalogue lacks are an error: the catalogue is the one list.
func (d *Decision) Events(at time.Time, cat *rules.Catalogue) ([]finding.Event, error) {
	type group struct {
		ids  []string
		msgs []string
		data []string
	}
	groups := map[string]*group{}
	var order []string
	add := func(check, id, msg, data string) {
		g, ok := groups[check]
		if !ok {
			g = &group{}
			groups[check] = g
			order = append(order, check)
		}
		if id == "" {
			// A stage's match (no CRS rule): each message once.
			if msg != "" && !slices.Contains(g.msgs, msg) {
				g.msgs = append(g.msgs, msg)
			}
			return
		}
		if !slices.Contains(g.ids, id) {
			g.ids = append(g.ids, id)
			if msg != "" {
				g.msgs = append(g.msgs, msg)
			}
			if data != "" {
				g.data = append(g.data, id+": "+data)
			}
		}
	}
	for _, m := range d.Matches {
		if m.Check == "" {
			continue
		}
		id := ""
		if m.RuleID != 0 {
			id = strconv.Itoa(m.RuleID)
		}
		add(m.Check, id, m.Message, m.Data)
	}
	if d.Blocked != nil && d.Blocked.Status == http.StatusRequestEntityTooLarge {
		add(CheckBodyTooLarge, "", "request body over the limit", "")
	}
	action := finding.ActionObserved
	switch {
	case d.Blocked != nil:
		action = finding.ActionBlocked
	case d.Mode == ModeDetect && slices.ContainsFunc(d.Matches, func(m Match) bool { return m.RuleID == 949110 || m.RuleID == 959100 }):
		action = finding.ActionAlerted
	}
	r := d.Request
	res := finding.Resource{Kind: "HTTPRequest", Name: r.Method + " " + r.Host + pathOf(r.URI)}
	events := make([]finding.Event, 0, len(order))
	for _, check := range order {
		g := groups[check]
		msg := strings.Join(g.msgs, "; ")
		f, err := cat.Finding(check, rules.Outcome{Resource: res, Failed: true, Message: msg})
		if err != nil {
			return nil, err
		}
		attrs := map[string]string{
			"requestID":     r.ID,
			"method":        r.Method,
			"host":          r.Host,
			"path":          pathOf(r.URI),
			"mode":          string(d.Mode),
			"inboundScore":  strconv.Itoa(d.InboundScore),
			"outboundScore": strconv.Itoa(d.OutboundScore),
		}
		if ids := strings.Join(slices.DeleteFunc(slices.Clone(g.ids), func(s string) bool { return s == "" }), ","); ids != "" {
			attrs["crsRules"] = ids
		}
		if len(g.data) > 0 {
			attrs["matchedData"] = strings.Join(g.data, " | ")
		}
		if d.Blocked != nil {
			attrs["status"] = strconv.Itoa(d.Blocked.Status)
		}
		events = append(events, finding.Event{Time: at.UTC(), Engine: rules.EngineWAF, Action: action,
			Actor: &finding.Actor{Address: r.ClientAddr}, Finding: f, Attributes: attrs})
	}
	return events, nil
}

func pathOf(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}
