package traffic_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

func readAll(t *testing.T, input, file string) ([]traffic.Record, []string, error) {
	t.Helper()
	var recs []traffic.Record
	var problems []string
	err := traffic.Read(strings.NewReader(input), file, func(r traffic.Record) error {
		recs = append(recs, r)
		return nil
	}, func(p *traffic.Problem) error {
		problems = append(problems, p.Error())
		return nil
	})
	return recs, problems, err
}

func TestHAR(t *testing.T) {
	data, err := os.ReadFile("testdata/browser.har")
	if err != nil {
		t.Fatal(err)
	}
	recs, problems, err := readAll(t, string(data), "browser.har")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	get, post := recs[0], recs[1]
	if get.Method != "GET" || get.URL.Path != "/api/v1/pets" || get.URL.Query().Get("limit") != "10" || get.Status != 200 {
		t.Errorf("GET record %+v", get)
	}
	if get.Header.Get("Authorization") != "Bearer abc" || get.Header.Get(":authority") != "" {
		t.Errorf("GET headers %v: want authorization and no pseudo-header", get.Header)
	}
	if post.Header.Get("Content-Type") != "application/json" || string(post.Body) != `{"name":"Rex","species":"dog"}` || post.Status != 201 {
		t.Errorf("POST record %+v body %s", post, post.Body)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "browser.har: entry 2: no method") {
		t.Errorf("problems %q, want entry 2 without a method", problems)
	}
}

func TestJSONL(t *testing.T) {
	input := `{"time":"2026-12-04T10:00:00Z","method":"POST","url":"/api/v1/pets?x=1","headers":{"Content-Type":["application/json"]},"body":"{\"name\":\"Rex\"}","status":201}
# a comment

{"method":"GET","url":"/a","body":"aGVsbG8=","body_base64":true}
{"method":"GET","url":"/a","colour":"red"}
{"method":"GET"
{"method":"GET","url":"http://[::1"}
`
	recs, problems, err := readAll(t, input, "traffic.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Status != 201 || recs[0].Header.Get("Content-Type") != "application/json" || string(recs[1].Body) != "hello" {
		t.Errorf("records %+v", recs)
	}
	want := []string{"traffic.jsonl:5: json: unknown field \"colour\"", "traffic.jsonl:6:", "traffic.jsonl:7: url:"}
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want %d", problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d: %q, want prefix %q", i, problems[i], w)
		}
	}
}

func TestBrokenHAR(t *testing.T) {
	for _, input := range []string{`{"log": {"entries": [{"request": {"method": "GET", "url": "/"}}, {`, `{"log": {"version": "1.2"}}`, `{"log": [`} {
		if _, _, err := readAll(t, input, "bad.har"); err == nil || !strings.HasPrefix(err.Error(), "bad.har") {
			t.Errorf("%s: error %v, want one naming the file", input, err)
		}
	}
}

func TestLineTooLong(t *testing.T) {
	input := `{"method":"GET","url":"/` + strings.Repeat("a", traffic.MaxRecord) + `"}`
	if _, _, err := readAll(t, input, "big.jsonl"); err == nil || !strings.Contains(err.Error(), "big.jsonl:1: a line longer than") {
		t.Errorf("error %v", err)
	}
}
