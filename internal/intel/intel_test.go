package intel

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

func load(t *testing.T, file, format string) *Loaded {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := Load(f, file, format, finding.High)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func setOf(ls ...*Loaded) *Set {
	s := NewSet()
	for _, l := range ls {
		for _, ind := range l.Indicators {
			s.Add(ind)
		}
	}
	return s
}

func TestFormatsAndMatching(t *testing.T) {
	list := load(t, "list.txt", FormatList)
	stix := load(t, "bundle.json", FormatSTIX)
	misp := load(t, "misp.json", FormatMISP)
	if list.Skipped != 1 || !strings.Contains(list.Unsupported[0], "list.txt:7") {
		t.Errorf("list: skipped %d %v", list.Skipped, list.Unsupported)
	}
	if stix.Skipped != 2 || !strings.Contains(strings.Join(stix.Unsupported, "\n"), "indicator--3") || !strings.Contains(strings.Join(stix.Unsupported, "\n"), `pattern type "sigma"`) {
		t.Errorf("STIX: skipped %d %v", stix.Skipped, stix.Unsupported)
	}
	if misp.Skipped != 2 {
		t.Errorf("MISP: skipped %d %v", misp.Skipped, misp.Unsupported)
	}
	s := setOf(list, stix, misp)
	for _, c := range []struct {
		kind, value, want string
		sev               finding.Severity
	}{
		{"ip", "198.51.100.7", "198.51.100.7", finding.High},
		{"ip", "203.0.113.77", "203.0.113.0/24", finding.High},
		{"ip", "::ffff:203.0.113.1", "203.0.113.0/24", finding.High},
		{"ip", "2001:db8:bad:1::1", "2001:db8:bad::/48", finding.High},
		{"ip", "198.51.100.99", "198.51.100.99", finding.High},
		{"ip", "192.0.2.100", "192.0.2.0/25", finding.High},
		{"ip", "192.0.2.200", "192.0.2.200", finding.Low}, // MISP threat level 3
		{"ip", "198.51.100.201", "198.51.100.201", finding.High},
		{"ip", "198.51.100.202", "198.51.100.202", finding.High},
		{"ip", "10.10.10.10", "", 0}, // revoked
		{"ip", "10.1.1.1", "", 0},    // to_ids false
		{"ip", "192.0.2.130", "", 0},
		{"domain", "evil.example", "evil.example", finding.High},
		{"domain", "WWW.Evil.Example.", "evil.example", finding.High},
		{"domain", "notevil.example", "", 0},
		{"domain", "c2.bad.example", "c2.bad.example", finding.High},
		{"domain", "bad.example", "", 0},
		{"domain", "cdn.phish.example", "cdn.phish.example", finding.High},
		{"url", "https://bad.example/x?a=1", "https://bad.example/x?a=1", finding.High},
		{"url", "http://phish.example/login", "http://phish.example/login", finding.High},
	} {
		var ind *Indicator
		switch c.kind {
		case "ip":
			ind = s.MatchIP(netip.MustParseAddr(c.value))
		case "domain":
			ind = s.MatchDomain(c.value)
		case "url":
			ind = s.MatchURL(c.value)
		}
		got := ""
		if ind != nil {
			got = ind.Value
		}
		if got != c.want || (ind != nil && ind.Severity != c.sev) {
			t.Errorf("match %s %s = %v, want %q (%s)", c.kind, c.value, ind, c.want, c.sev)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ in, format, want string }{
		{`{"type": "report"}`, FormatSTIX, "want bundle"},
		{`{`, FormatSTIX, "STIX bundle"},
		{`"x"`, FormatMISP, "MISP: want"},
		{``, "csv", "want one of"},
	} {
		_, err := Load(strings.NewReader(c.in), "f", c.format, finding.High)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%q, %s) = %v, want %q", c.in, c.format, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"name=a", "give one of file= or url="},
		{"file=x", "name missing"},
		{"name=a,file=x,severity=dire", "unknown severity"},
		{"name=a,url=ftp://x", "http://"},
		{"name=a,file=x,refresh=1s", "at least 1m"},
		{"name=a,file=x,format=yaml", "want one of"},
		{"name=a,file=x,colour=red", "unknown key"},
	} {
		if _, err := ParseFeed(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFeed(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestEnrich(t *testing.T) {
	e := NewEnricher()
	e.Replace(setOf(load(t, "list.txt", FormatList)))
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	res := finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "web-1"}
	recs := []store.Record{
		{Event: finding.Event{Time: t0, Engine: "flow", Action: "observed", Finding: finding.Finding{Resource: res},
			Attributes: map[string]string{"src": "10.0.1.5", "dst": "203.0.113.9", "dstPort": "443", "protocol": "TCP"}}},
		{Event: finding.Event{Time: t0, Engine: "flow", Action: "observed", Attributes: map[string]string{"src": "10.0.1.5", "dst": "10.0.2.7"}}},
		{Event: finding.Event{Time: t0, Engine: "waf", Action: "blocked", Actor: &finding.Actor{Address: "198.51.100.7"},
			Attributes: map[string]string{"host": "a.evil.example"}}},
		{Type: store.TypeFinding, Event: finding.Event{Time: t0, Engine: "scan", Attributes: map[string]string{"dst": "198.51.100.7"}}},
	}
	extra := e.Enrich(recs)
	if len(extra) != 3 {
		t.Fatalf("%d intel events, want 3: %+v", len(extra), extra)
	}
	if recs[0].Event.Attributes["intel.indicator"] != "203.0.113.0/24" || recs[0].Event.Attributes["intel.feed"] != "list.txt" || recs[1].Event.Attributes["intel.feed"] != "" {
		t.Errorf("enriched attributes: %v / %v", recs[0].Event.Attributes, recs[1].Event.Attributes)
	}
	m := extra[0].Event
	if m.Engine != "intel" || m.RuleID != RuleID || m.Severity != finding.High || m.Resource != res || m.Attributes["field"] != "dst" ||
		m.Message != "dst 203.0.113.9 (flow event) matches indicator 203.0.113.0/24 of feed list.txt" {
		t.Errorf("intel event %+v", m)
	}
	if extra[1].Event.Attributes["field"] != "actor.address" || extra[2].Event.Attributes["field"] != "host" {
		t.Errorf("WAF matches: %+v", extra[1:])
	}
}

func TestFeedsFromURLRefresh(t *testing.T) {
	var body atomic.Value
	body.Store("198.51.100.1\n")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/ips.txt" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	good, err := ParseFeed("name=remote,url=" + srv.URL + "/ips.txt,refresh=1m")
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := ParseFeed("name=gone,url=" + srv.URL + "/missing.txt")
	file, _ := ParseFeed("name=local,file=testdata/list.txt,severity=critical")
	e := NewEnricher()
	fs := &Feeds{Feeds: []Feed{good, bad, file}, Enricher: e, Client: srv.Client()}
	err = fs.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), "feed gone") || !strings.Contains(err.Error(), "404") {
		t.Errorf("Load: %v, want the missing feed's error", err)
	}
	if ind := e.Set().MatchIP(netip.MustParseAddr("198.51.100.1")); ind == nil || ind.Feed != "remote" {
		t.Errorf("remote indicator: %v", ind)
	}
	if ind := e.Set().MatchIP(netip.MustParseAddr("198.51.100.7")); ind == nil || ind.Severity != finding.Critical {
		t.Errorf("file indicator: %v", ind)
	}
	// The remote feed changes; a round after its refresh interval picks it up.
	body.Store("198.51.100.2\n")
	if _, err := fs.round(t.Context(), time.Now().Add(30*time.Second), false); err != nil {
		t.Fatal(err)
	}
	if e.Set().MatchIP(netip.MustParseAddr("198.51.100.2")) != nil {
		t.Error("refreshed before the interval")
	}
	if _, err := fs.round(t.Context(), time.Now().Add(2*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if e.Set().MatchIP(netip.MustParseAddr("198.51.100.2")) == nil || e.Set().MatchIP(netip.MustParseAddr("198.51.100.1")) != nil {
		t.Error("not refreshed after the interval")
	}
	if e.Set().MatchIP(netip.MustParseAddr("198.51.100.7")) == nil {
		t.Error("the file feed's indicators were lost on refresh")
	}
}
