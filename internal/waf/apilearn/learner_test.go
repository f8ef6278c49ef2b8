package apilearn_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/apigen"
	"github.com/kordon-dev/kordon/internal/waf/apilearn"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// clinicTraffic generates n valid requests per operation of the clinic
// API, with the statuses a server would answer.
func clinicTraffic(t testing.TB, n int) []apigen.Request {
	data, err := os.ReadFile("testdata/clinic-3.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := apigen.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	g := apigen.NewGenerator(sp, 42)
	var out []apigen.Request
	for _, op := range sp.Operations() {
		for range n {
			out = append(out, g.ValidRequest(op))
		}
	}
	return out
}

func record(r apigen.Request) traffic.Record {
	req, body := r.HTTP()
	status := 200
	if r.Method == "POST" {
		status = 201
	}
	return traffic.Record{Method: req.Method, URL: req.URL, Header: req.Header, Body: body, Status: status}
}

// TestLearnClinic learns the clinic API from its traffic: the draft has
// its routes, admits all of that traffic, and blocks what its clients
// never sent.
func TestLearnClinic(t *testing.T) {
	reqs := clinicTraffic(t, 200)
	l := apilearn.New(apilearn.Options{BasePath: "/api/v1", Title: "Pet clinic"})
	for _, r := range reqs {
		l.Add(record(r))
	}
	draft, err := l.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/clinic.learned.yaml", draft)
	st := l.Stats()
	if st.Learned != len(reqs) || st.Routes != 3 || st.Operations != 5 {
		t.Errorf("stats %+v, want %d learned, 3 routes, 5 operations", st, len(reqs))
	}
	schema, err := apischema.Load(draft, "draft", apischema.Options{})
	if err != nil {
		t.Fatalf("the draft does not load: %v\n%s", err, draft)
	}
	if schema.Routes() != 3 {
		t.Errorf("draft has %d routes, want 3", schema.Routes())
	}
	for _, r := range reqs {
		req, body := r.HTTP()
		if v := schema.Check(req, body); v.Block {
			t.Errorf("learned traffic %s %s %s blocked by the draft: %+v", r.Method, r.Path, r.Body, v.Violations)
		}
	}
	for _, tc := range []struct{ method, target, contentType, body string }{
		{"GET", "/api/v1/admin", "", ""},
		{"PUT", "/api/v1/pets/7", "", ""},
		{"GET", "/api/v1/pets/abc", "", ""},
		{"GET", "/api/v1/pets?limit=5&species=zebra", "", ""},
		{"GET", "/api/v1/pets?species=cat", "", ""}, // limit was always sent
		{"POST", "/api/v1/pets", "application/json", `{"name":"Rex","species":"dog","isAdmin":true}`},
		{"POST", "/api/v1/pets", "application/json", `{"species":"dog"}`},
		{"POST", "/api/v1/pets", "application/json", `{"name":"` + strings.Repeat("A", 200) + `","species":"dog"}`},
		{"POST", "/api/v1/owners/not-a-uuid/visits", "application/json", `{"at":"2024-01-02T03:04:05Z","pets":[{"petId":1}]}`},
	} {
		req, _ := http.NewRequest(tc.method, "http://api.example"+tc.target, strings.NewReader(tc.body))
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		if v := schema.Check(req, []byte(tc.body)); !v.Block {
			t.Errorf("%s %s %s admitted by the draft", tc.method, tc.target, tc.body)
		}
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", file, got)
	}
}

func TestTemplates(t *testing.T) {
	l := apilearn.New(apilearn.Options{MaxLiterals: 10})
	add := func(method, target string, h http.Header) {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			h = http.Header{}
		}
		l.Add(traffic.Record{Method: method, URL: u, Header: h, Status: 200})
	}
	for i := range 30 {
		add("GET", fmt.Sprintf("/tags/topic%c%c/posts", 'a'+i%26, 'a'+i/26), nil) // names, not IDs: collapsed past MaxLiterals
		add("GET", fmt.Sprintf("/categories/%d/items/%d", i, i*7), nil)
		add("GET", fmt.Sprintf("/files/%x", 0xdeadbeef00+i), nil)
		add("GET", "/users/me", http.Header{"Authorization": {"Bearer t0ken" + fmt.Sprint(i)}, "X-Api-Key": {fmt.Sprint("k", i%3)}})
	}
	add("GET", "/users/0b7d6c5e-1f7a-4d2c-9a55-0c1d2e3f4a5b", nil)
	draft, err := l.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(draft)
	for _, want := range []string{
		"/tags/{tagId}/posts:", "/categories/{categoryId}/items/{itemId}:", "/files/{fileId}:",
		"/users/me:", "/users/{userId}:", "bearerAuth:", "name: X-Api-Key",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("draft lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "k1") || strings.Contains(s, "t0ken") {
		t.Errorf("draft holds header values:\n%s", s)
	}
	if _, err := apischema.Load(draft, "draft", apischema.Options{}); err != nil {
		t.Errorf("draft does not load: %v", err)
	}
}

func TestRouteLimit(t *testing.T) {
	l := apilearn.New(apilearn.Options{MaxRoutes: 5, MaxLiterals: 1000})
	for i := range 20 {
		u, _ := url.Parse(fmt.Sprintf("/r%c", 'a'+i))
		l.Add(traffic.Record{Method: "GET", URL: u, Header: http.Header{}})
	}
	st := l.Stats()
	if st.Routes != 5 || st.Learned != 5 || st.NotLearned["new route beyond the route limit"] != 15 {
		t.Errorf("stats %+v, want 5 routes learned and 15 requests not learned", st)
	}
}

// TestDeterministic learns the same traffic in two orders.
func TestDeterministic(t *testing.T) {
	reqs := clinicTraffic(t, 50)
	a, b := apilearn.New(apilearn.Options{}), apilearn.New(apilearn.Options{})
	for i := range reqs {
		a.Add(record(reqs[i]))
		b.Add(record(reqs[len(reqs)-1-i]))
	}
	da, _ := a.YAML()
	db, _ := b.YAML()
	if !bytes.Equal(da, db) {
		t.Errorf("the order of the traffic changes the draft:\n%s\n---\n%s", da, db)
	}
}
