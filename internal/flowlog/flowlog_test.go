package flowlog

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadPods(t *testing.T) *History {
	t.Helper()
	h := NewHistory()
	f, err := os.Open("testdata/pods.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.LoadHistory(f, "pods.json"); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHistoryIsTimeAware(t *testing.T) {
	h := loadPods(t)
	ip := netip.MustParseAddr("10.0.1.5")
	for _, c := range []struct {
		t    string
		want string
	}{
		{"2026-03-01T09:00:00Z", ""},
		{"2026-03-01T10:00:00Z", "shop/web-old ReplicaSet/web-5d8f7c9b4"},
		{"2026-03-01T10:59:59Z", "shop/web-old ReplicaSet/web-5d8f7c9b4"},
		{"2026-03-01T11:02:00Z", ""}, // web-old deleted, ledger-0 not yet started
		{"2026-03-01T11:05:00Z", "pay/ledger-0 StatefulSet/ledger"},
		{"2026-03-02T00:00:00Z", "pay/ledger-0 StatefulSet/ledger"},
	} {
		p, ok := h.Lookup(ip, at(c.t))
		got := ""
		if ok {
			got = p.Namespace + "/" + p.Name + " " + p.Workload
		}
		if got != c.want {
			t.Errorf("Lookup(%s, %s) = %q, want %q", ip, c.t, got, c.want)
		}
	}
	if p, ok := h.Lookup(netip.MustParseAddr("fd00::5"), at("2026-03-01T10:30:00Z")); !ok || p.Name != "web-old" {
		t.Errorf("IPv6 address of web-old: %v %v", p, ok)
	}
	// The history format, with an explicit end.
	hist := `{"ip": "10.9.9.9", "namespace": "a", "pod": "p1", "from": "2026-03-01T00:00:00Z", "to": "2026-03-01T01:00:00Z"}
{"ip": "10.9.9.9", "namespace": "a", "pod": "p2", "workload": "Deployment/p", "from": "2026-03-01T01:00:00Z"}
`
	if err := h.LoadHistory(strings.NewReader(hist), "h.jsonl"); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.Lookup(netip.MustParseAddr("10.9.9.9"), at("2026-03-01T00:59:59Z")); p.Name != "p1" {
		t.Errorf("before the change: %v", p)
	}
	if p, _ := h.Lookup(netip.MustParseAddr("10.9.9.9"), at("2026-03-01T01:00:00Z")); p.Name != "p2" {
		t.Errorf("after the change: %v", p)
	}
}

func TestHistoryErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"ip": "10.0.0.1", "namespace": "a", "pod": "p", "from": "2026-03-01T00:00:00Z", "colour": 1}`, `h.jsonl:1: json: unknown field "colour"`},
		{"\n{\"ip\": \"ten\", \"namespace\": \"a\", \"pod\": \"p\", \"from\": \"2026-03-01T00:00:00Z\"}", "h.jsonl:2: ip:"},
		{`{"ip": "10.0.0.1", "namespace": "a", "from": "2026-03-01T00:00:00Z"}`, "want ip, namespace, pod and from"},
		{`{"ip": "10.0.0.1", "namespace": "a", "pod": "p", "from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}`, "to is not after from"},
		{`{"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "x"}, "status": {"podIP": "300.1.1.1"}}]}`, "items[0] (/x): pod IP"},
	} {
		err := NewHistory().LoadHistory(strings.NewReader(c.in), "h.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadHistory(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func readAll(t *testing.T, n *Normalizer, path, format string) ([]finding.Event, Result) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []finding.Event
	res, err := n.ReadEvents(f, filepath.Base(path), format, func(e finding.Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return evs, res
}

func summarize(evs []finding.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Time.Format(time.RFC3339) + " " + e.Action + " " + e.Resource.String() + " | " + e.Message)
		for _, k := range []string{"srcWorkload", "dstWorkload", "bytes", "direction"} {
			if v := e.Attributes[k]; v != "" {
				b.WriteString(" " + k + "=" + v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n%s", name, got)
	}
}

func TestVPCFlowsAttributedAtTheirTime(t *testing.T) {
	n := &Normalizer{History: loadPods(t)}
	evs, res := readAll(t, n, "testdata/vpc-v5.log", FormatAuto)
	if res.Flows != 3 || res.Skipped != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], `vpc-v5.log:5: dstaddr "not-an-ip"`) {
		t.Fatalf("result %+v", res)
	}
	golden(t, "vpc-v5.golden", summarize(evs))
	// The same address, two pods: the flow at 10:30 is web-old's, the one
	// at 11:05 ledger-0's.
	if evs[0].Resource.Name != "web-old" || evs[1].Resource.Name != "ledger-0" {
		t.Errorf("attributed to %s and %s, want web-old and ledger-0", evs[0].Resource, evs[1].Resource)
	}
}

func TestVPCVersion2WithoutHeader(t *testing.T) {
	n := &Normalizer{History: loadPods(t)}
	in := "2 123456789012 eni-1 10.0.1.5 10.0.2.7 40000 5432 6 5 400 1772362920 1772362980 ACCEPT OK\n" + // 11:02, between the two pods
		"2 123456789012 eni-1 10.0.2.7 10.0.1.5 5432 40000 17 5 400 1772362920 1772362980 ACCEPT\n"
	var evs []finding.Event
	res, err := n.ReadEvents(strings.NewReader(in), "flows.log", FormatVPC, func(e finding.Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Flows != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "flows.log:2: 13 fields, want 14") {
		t.Fatalf("result %+v", res)
	}
	// 10.0.1.5 belonged to no pod at 11:02; the destination did.
	if e := evs[0]; e.Resource.Name != "db-0" || e.Attributes["srcPod"] != "" || e.Attributes["dstPod"] != "pay/db-0" || e.Attributes["protocol"] != "TCP" {
		t.Errorf("event %+v", e)
	}
}

func TestHubbleFlowsTeachTheHistory(t *testing.T) {
	h := NewHistory()
	n := &Normalizer{History: h}
	evs, res := readAll(t, n, "../netpol/flow/testdata/hubble.json", FormatAuto)
	if res.Flows == 0 || len(res.Errors) != 0 {
		t.Fatalf("result %+v", res)
	}
	golden(t, "hubble.golden", summarize(evs))
	denied := 0
	for _, e := range evs {
		if e.Action == finding.ActionDenied {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("%d denied flows, want the one DROPPED flow", denied)
	}
	if p, ok := h.Lookup(netip.MustParseAddr("10.0.1.5"), at("2026-11-20T10:00:01Z")); !ok || !strings.HasPrefix(p.Name, "web-") {
		t.Errorf("history learnt from Hubble: %v %v", p, ok)
	}
	// A VPC record of that address later is attributed from what Hubble taught.
	vpc := "2 1 eni-1 10.0.1.5 198.51.100.1 40000 443 6 1 60 1795255200 1795255260 ACCEPT OK\n"
	var got []finding.Event
	if _, err := n.ReadEvents(strings.NewReader(vpc), "v.log", FormatVPC, func(e finding.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0].Attributes["srcPod"], "shop/web-") {
		t.Errorf("VPC flow after Hubble: %+v", got)
	}
}

func TestKordonFormats(t *testing.T) {
	n := &Normalizer{History: loadPods(t), Now: func() time.Time { return at("2026-03-01T10:30:00Z") }}
	evs, res := readAll(t, n, "../netpol/flow/testdata/flows.csv", FormatAuto)
	if res.Flows != 3 || evs[0].Resource.String() != "Pod shop/web" || evs[0].Attributes["source"] != FormatCSV {
		t.Errorf("CSV: %+v %+v", res, evs)
	}
	evs, _ = readAll(t, n, "../netpol/flow/testdata/flows.jsonl", FormatAuto)
	if len(evs) != 3 || evs[1].Attributes["src"] != "203.0.113.7" || !evs[1].Time.Equal(at("2026-03-01T10:30:00Z")) {
		t.Errorf("JSONL: %+v", evs)
	}
	_, err := n.ReadEvents(strings.NewReader("x"), "f", "netflow", func(finding.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "want one of") {
		t.Errorf("unknown format: %v", err)
	}
}
