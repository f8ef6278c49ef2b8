package logicdoc

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/alert"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/intel"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/query"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the documented results in docs/logic.md")

const docPath = "../../docs/logic.md"

// day is the generated data's day; the server's clock is at its end.
var (
	day = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now = day.Add(24 * time.Hour)
)

// generate returns the records docs/logic.md describes: one a minute for
// the day, in turn a flow, an admission denial, a sensor alert and a scan
// finding, in the namespaces shop, pay and ops in turn.
func generate() []store.Record {
	namespaces := []string{"shop", "pay", "ops"}
	ports := []string{"443", "5432", "22", "53", "8080"}
	out := make([]store.Record, 0, 1440)
	for i := range 1440 {
		t := day.Add(time.Duration(i) * time.Minute)
		ns := namespaces[i%3]
		res := finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: fmt.Sprintf("%s-%d", map[string]string{"shop": "web", "pay": "db", "ops": "tools"}[ns], i%4)}
		ev := finding.Event{Time: t, Finding: finding.Finding{Controls: []string{}, Resource: res}}
		typ := store.TypeEvent
		switch i % 4 {
		case 0:
			port := ports[(i/4)%5]
			dst := fmt.Sprintf("10.0.%d.%d", i%7, i%50)
			if (i/4)%9 == 0 {
				dst = "203.0.113." + fmt.Sprint(i%16) // outside the cluster
			}
			ev.Engine, ev.Action, ev.Severity = "flow", finding.ActionObserved, finding.Info
			if port == "22" {
				ev.Action = finding.ActionDenied
			}
			ev.Attributes = map[string]string{"src": fmt.Sprintf("10.1.%d.%d", i%3, i%40), "dst": dst, "dstPort": port, "protocol": "TCP", "source": "hubble"}
			ev.Message = fmt.Sprintf("%s -> %s port %s/TCP", ev.Attributes["src"], dst, port)
		case 1:
			ev.Engine, ev.Action, ev.RuleID = "admission", finding.ActionDenied, fmt.Sprintf("KOR-POD-00%d", 1+(i/4)%3)
			ev.Severity = finding.Severity(2 + (i/4)%3)
			ev.Actor = &finding.Actor{User: []string{"alice@example.com", "bob@example.com", "system:serviceaccount:ci:deployer"}[(i/4)%3]}
			ev.Message = "denied: " + ev.RuleID
		case 2:
			ev.Engine, ev.Action, ev.RuleID, ev.Severity = "sensor", finding.ActionAlerted, "KOR-RT-001", finding.High
			if (i/4)%10 == 0 {
				ev.Severity = finding.Critical
			}
			ev.Attributes = map[string]string{"process": []string{"/bin/sh", "/usr/bin/curl", "/usr/bin/nc"}[(i/4)%3]}
			ev.Message = "process left the baseline: " + ev.Attributes["process"]
		case 3:
			typ = store.TypeFinding
			ev.Engine, ev.RuleID, ev.Severity = "scan", fmt.Sprintf("KOR-POD-00%d", 1+(i/4)%3), finding.Medium
			ev.Controls = []string{"CIS:5.2." + fmt.Sprint(1+(i/4)%3)}
			ev.Message = "finding " + ev.RuleID
		}
		out = append(out, store.Record{Type: typ, Event: ev})
	}
	return out
}

// block is one fenced code block of the document.
type block struct {
	kind       string // the info string after the language: query, result, ...
	body       string
	start, end int // byte offsets of the body
	line       int
}

var fence = regexp.MustCompile("(?m)^```([a-z]+) ([a-z-]+)\n")

func blocks(doc string) []block {
	var out []block
	for _, m := range fence.FindAllStringSubmatchIndex(doc, -1) {
		start := m[1]
		// The body ends before the first line that is a closing fence;
		// it may be empty.
		end := start
		if !strings.HasPrefix(doc[start:], "```") {
			i := strings.Index(doc[start:], "\n```")
			if i < 0 {
				continue
			}
			end = start + i + 1
		}
		out = append(out, block{kind: doc[m[4]:m[5]], body: doc[start:end], start: start, end: end,
			line: strings.Count(doc[:start], "\n") + 1})
	}
	return out
}

// example pairs runnable blocks with the result block after them.
type example struct {
	inputs []block
	result block
}

// resultKinds are the blocks that hold documented results.
var resultKinds = map[string]bool{"result": true, "alerts": true, "enriched": true}

func examples(t *testing.T, doc string) []example {
	var out []example
	var pending []block
	for _, b := range blocks(doc) {
		if resultKinds[b.kind] {
			if len(pending) == 0 {
				t.Errorf("docs/logic.md:%d: a %s block without an example before it", b.line, b.kind)
				continue
			}
			out = append(out, example{inputs: pending, result: b})
			pending = nil
			continue
		}
		pending = append(pending, b)
	}
	if len(pending) > 0 {
		t.Errorf("docs/logic.md:%d: an example without a result block", pending[0].line)
	}
	return out
}

func TestLogicExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kordon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := generate()
	if err := st.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	env, err := query.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Store: st, Env: env, Now: func() time.Time { return now }}).Handler()

	exs := examples(t, doc)
	counts := map[string]int{}
	var edits []struct {
		start, end int
		text       string
	}
	for _, ex := range exs {
		first := ex.inputs[0]
		name := fmt.Sprintf("%s@line%d", first.kind, first.line)
		counts[first.kind]++
		var got any
		var err error
		switch first.kind {
		case "query":
			got, err = runQuery(api, first.body)
		case "alert-rules":
			got, err = runAlerts(ctx, env, first.body, recs)
		case "intel-feed":
			if len(ex.inputs) != 2 || ex.inputs[1].kind != "events" {
				t.Errorf("%s: an intel-feed block is followed by an events block", name)
				continue
			}
			got, err = runEnrich(first.body, ex.inputs[1].body)
		default:
			t.Errorf("%s: unknown example kind %q", name, first.kind)
			continue
		}
		if err != nil {
			t.Errorf("docs/logic.md:%d: %v", first.line, err)
			continue
		}
		gotJSON, _ := json.Marshal(got)
		var gotAny any
		_ = json.Unmarshal(gotJSON, &gotAny)
		if *update {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			_ = enc.Encode(gotAny)
			edits = append(edits, struct {
				start, end int
				text       string
			}{ex.result.start, ex.result.end, buf.String()})
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(ex.result.body), &want); err != nil {
			t.Errorf("docs/logic.md:%d: the documented result is not JSON: %v", ex.result.line, err)
			continue
		}
		if path, ok := subset(want, gotAny, "$"); !ok {
			t.Errorf("docs/logic.md:%d: the documented result differs at %s; Kordon returns:\n%s", ex.result.line, path, gotJSON)
		}
	}
	if *update {
		for i := len(edits) - 1; i >= 0; i-- {
			e := edits[i]
			doc = doc[:e.start] + e.text + doc[e.end:]
		}
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The document keeps examples of each kind.
	for _, k := range []string{"query", "alert-rules", "intel-feed"} {
		if counts[k] == 0 {
			t.Errorf("docs/logic.md has no %s example", k)
		}
	}
	t.Logf("examples run: %v", counts)
}

// subset reports whether want is got with some object keys left out:
// every documented key has the same value, lists have the same length.
func subset(want, got any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return path + "." + k, false
			}
			if p, ok := subset(wv, gv, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path + " (length)", false
		}
		for i := range w {
			if p, ok := subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(want, got)
}

// runQuery posts a query to the HTTP API.
func runQuery(api http.Handler, body string) (any, error) {
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/query", strings.NewReader(body)))
	var out any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("query answer %d: %s", w.Code, w.Body.String())
	}
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("query answered %d: %s", w.Code, w.Body.String())
	}
	return out, nil
}

// alertsResult is what an alert-rules example documents.
type alertsResult struct {
	Fired map[string]int `json:"fired"`
	First []alertSummary `json:"first"`
}

type alertSummary struct {
	Rule     string            `json:"rule"`
	Key      map[string]string `json:"key"`
	Count    int               `json:"count"`
	First    time.Time         `json:"first"`
	Last     time.Time         `json:"last"`
	Severity string            `json:"severity"`
}

// runAlerts feeds the generated records, one a minute in time order, to
// the rules and summarises the alerts: how many each rule fired, and the
// first three.
func runAlerts(ctx context.Context, env *query.Env, spec string, recs []store.Record) (any, error) {
	var cfg struct {
		Rules []alert.RuleSpec `json:"rules"`
	}
	if err := yaml.UnmarshalStrict([]byte(spec), &cfg); err != nil {
		return nil, fmt.Errorf("alert rules: %w", err)
	}
	eng, err := alert.NewEngine(env, cfg.Rules)
	if err != nil {
		return nil, err
	}
	res := alertsResult{Fired: map[string]int{}, First: []alertSummary{}}
	for i := range recs {
		for _, a := range eng.Observe(ctx, recs[i:i+1]) {
			res.Fired[a.Rule]++
			if len(res.First) < 3 {
				res.First = append(res.First, alertSummary{Rule: a.Rule, Key: a.Key, Count: a.Count, First: a.First, Last: a.Last, Severity: a.Severity.String()})
			}
		}
	}
	for _, r := range cfg.Rules {
		if _, ok := res.Fired[r.Name]; !ok {
			res.Fired[r.Name] = 0
		}
	}
	return res, nil
}

// enrichResult is what an intel-feed example documents.
type enrichResult struct {
	Events []map[string]string `json:"events"` // the intel.* attributes added to each event
	Intel  []intelEvent        `json:"intel"`  // the KOR-INTEL-001 events
}

type intelEvent struct {
	RuleID     string            `json:"ruleID"`
	Severity   string            `json:"severity"`
	Message    string            `json:"message"`
	Attributes map[string]string `json:"attributes"`
}

func runEnrich(feed, events string) (any, error) {
	loaded, err := intel.Load(strings.NewReader(feed), "doc-feed", intel.FormatList, finding.High)
	if err != nil {
		return nil, err
	}
	set := intel.NewSet()
	for _, ind := range loaded.Indicators {
		set.Add(ind)
	}
	en := intel.NewEnricher()
	en.Replace(set)
	var evs []finding.Event
	if err := json.Unmarshal([]byte(events), &evs); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	recs := make([]store.Record, len(evs))
	for i, e := range evs {
		recs[i] = store.Record{Type: store.TypeEvent, Event: e}
	}
	matches := en.Enrich(recs)
	res := enrichResult{Events: []map[string]string{}, Intel: []intelEvent{}}
	for _, r := range recs {
		added := map[string]string{}
		for k, v := range r.Event.Attributes {
			if strings.HasPrefix(k, "intel.") {
				added[k] = v
			}
		}
		res.Events = append(res.Events, added)
	}
	for _, m := range matches {
		res.Intel = append(res.Intel, intelEvent{RuleID: m.Event.RuleID, Severity: m.Event.Severity.String(), Message: m.Event.Message, Attributes: m.Event.Attributes})
	}
	return res, nil
}
