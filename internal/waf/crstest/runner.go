package crstest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RulesHeader is the proxy's test-mode header with the matched rule IDs.
const RulesHeader = "X-Kordon-Waf-Rules"

//go:embed skips.yaml
var skipsYAML []byte

// Skips returns the tests that cannot run through this proxy, by test ID,
// with the reason.
func Skips() (map[string]string, error) {
	var s map[string]string
	if err := yaml.Unmarshal(skipsYAML, &s); err != nil {
		return nil, fmt.Errorf("skips.yaml: %w", err)
	}
	for id, why := range s {
		if strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("skips.yaml: %s has no reason", id)
		}
	}
	return s, nil
}

// Result is the outcome of a run.
type Result struct {
	Passed  []string
	Failed  []Failure
	Skipped []Skip
}

// Failure is a test that did not produce what it expects.
type Failure struct {
	ID     string
	Reason string
}

// Skip is a test not run, and why.
type Skip struct {
	ID     string
	Reason string
}

// PassRate is the share of the run tests that passed, in percent.
func (r *Result) PassRate() float64 {
	n := len(r.Passed) + len(r.Failed)
	if n == 0 {
		return 0
	}
	return 100 * float64(len(r.Passed)) / float64(n)
}

// Run sends every test to the proxy at addr (host:port) and checks its
// answers. skips names tests not to run, with reasons.
func Run(ctx context.Context, addr string, tests []Test, skips map[string]string) (*Result, error) {
	res := &Result{}
	for _, t := range tests {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if why, ok := skips[t.ID]; ok {
			res.Skipped = append(res.Skipped, Skip{ID: t.ID, Reason: why})
			continue
		}
		if why := unsupported(t); why != "" {
			res.Skipped = append(res.Skipped, Skip{ID: t.ID, Reason: why})
			continue
		}
		if reason := runTest(ctx, addr, t); reason != "" {
			res.Failed = append(res.Failed, Failure{ID: t.ID, Reason: reason})
		} else {
			res.Passed = append(res.Passed, t.ID)
		}
	}
	return res, nil
}

// unsupported says why a test cannot be judged by the runner at all.
func unsupported(t Test) string {
	for _, s := range t.Stages {
		if s.Output.Log.MatchRegex != "" || s.Output.Log.NoMatchRegex != "" {
			return "expects a regular expression in the engine's error log (match_regex); the runner judges rule IDs from the X-Kordon-Waf-Rules header and reads no log"
		}
	}
	return ""
}

func runTest(ctx context.Context, addr string, t Test) string {
	for i, s := range t.Stages {
		raw, err := s.Input.Raw()
		if err != nil {
			return fmt.Sprintf("stage %d: %v", i+1, err)
		}
		resp, err := send(ctx, addr, raw)
		if s.Output.ExpectError {
			if err == nil {
				return fmt.Sprintf("stage %d: expected an error, got status %d", i+1, resp.status)
			}
			continue
		}
		if err != nil {
			return fmt.Sprintf("stage %d: %v", i+1, err)
		}
		if why := s.Output.check(resp); why != "" {
			return fmt.Sprintf("stage %d: %s", i+1, why)
		}
	}
	return ""
}

type response struct {
	status int
	ids    []int
	body   string
	hasIDs bool
}

func (o Output) check(r *response) string {
	if o.Status != 0 && r.status != o.Status {
		return fmt.Sprintf("status %d, want %d", r.status, o.Status)
	}
	// Without the header the answer came from Go's HTTP server, which
	// refused the request before the WAF saw it: no rule matched.
	for _, id := range o.Log.ExpectIDs {
		if !r.hasIDs {
			return fmt.Sprintf("status %d without the %s header: the HTTP server refused the request before the WAF saw it", r.status, RulesHeader)
		}
		if !slices.Contains(r.ids, id) {
			return fmt.Sprintf("rule %d did not match (matched: %v)", id, r.ids)
		}
	}
	for _, id := range o.Log.NoExpectIDs {
		if slices.Contains(r.ids, id) {
			return fmt.Sprintf("rule %d matched, want it not to", id)
		}
	}
	if o.ResponseContains != "" && !strings.Contains(r.body, o.ResponseContains) {
		return fmt.Sprintf("response does not contain %q", o.ResponseContains)
	}
	return ""
}

// Raw renders the request as go-ftw would write it: the request line and
// headers as given, plus Content-Length and Connection: close unless
// autocomplete_headers is false.
func (in Input) Raw() ([]byte, error) {
	if in.EncodedRequest != "" {
		return base64.StdEncoding.DecodeString(strings.ReplaceAll(in.EncodedRequest, "\n", ""))
	}
	method, uri, version := "GET", "/", "HTTP/1.1"
	if in.Method != nil {
		method = *in.Method
	}
	if in.URI != nil {
		uri = *in.URI
	}
	if in.Version != nil {
		version = *in.Version
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\n", method, uri, version)
	var names []string
	if in.Headers.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(in.Headers.Content); i += 2 {
			k, v := in.Headers.Content[i].Value, in.Headers.Content[i+1].Value
			names = append(names, strings.ToLower(k))
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	data := ""
	if in.Data != nil {
		data = expandRepeat(*in.Data)
	}
	if in.AutocompleteHeaders == nil || *in.AutocompleteHeaders {
		if data != "" && !slices.Contains(names, "content-length") && !slices.Contains(names, "transfer-encoding") {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(data))
		}
		if !slices.Contains(names, "connection") {
			b.WriteString("Connection: close\r\n")
		}
	}
	b.WriteString("\r\n")
	b.WriteString(data)
	return b.Bytes(), nil
}

// repeatRE is go-ftw's one template function the tests use in data:
// {{ "x" | repeat N }}.
var repeatRE = regexp.MustCompile(`\{\{\s*"([^"]*)"\s*\|\s*repeat\s+(\d{1,7})\s*\}\}`)

func expandRepeat(s string) string {
	return repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := repeatRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[2])
		return strings.Repeat(sub[1], n)
	})
}

// send writes raw to addr and reads one response (bounded in time and
// size).
func send(ctx context.Context, addr string, raw []byte) (*response, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second)) // generous: the race detector on a loaded machine
	if _, err := conn.Write(raw); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := &response{status: resp.StatusCode, body: string(body)}
	if v, ok := resp.Header[http.CanonicalHeaderKey(RulesHeader)]; ok {
		r.hasIDs = true
		for _, s := range strings.Split(strings.Join(v, ","), ",") {
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a rule ID", RulesHeader, s)
			}
			r.ids = append(r.ids, n)
		}
		if !sort.IntsAreSorted(r.ids) {
			return nil, errors.New(RulesHeader + ": IDs not ascending")
		}
	}
	return r, nil
}
