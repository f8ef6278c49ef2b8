package decisionlog

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
)

// decision is a decision line as kordon admission serve writes it.
const decision = `{"time":"2026-03-14T09:26:53.123456789Z","level":"INFO","msg":"admission decision","uid":"u1","user":"alice","groups":["dev"],` +
	`"operation":"CREATE","kind":"apps/Deployment","apiVersion":"apps/v1","namespace":"shop","name":"api","result":"denied","latencyMs":0.412,` +
	`"rules":[{"id":"KOR-POD-001","action":"enforce","source":"pss","severity":"critical","message":"privileged containers: \"shell\""},` +
	`{"id":"KOR-GOV-004","action":"warn","source":"governance","severity":"high","message":"image quay.io/x:1","remediation":"Use registry.example.com."},` +
	`{"id":"KOR-SVC-001","action":"audit","source":"svc","severity":"medium","message":"NodePort"}]}`

// read reads every line of log and returns the decisions and the line
// errors, failing on any other error.
func read(t *testing.T, log string) ([]*Line, []int, []*LineError) {
	t.Helper()
	r := NewReader(strings.NewReader(log), "test.log")
	var got []*Line
	var lines []int
	var errs []*LineError
	for {
		l, err := r.Next()
		var le *LineError
		switch {
		case errors.Is(err, io.EOF):
			return got, lines, errs
		case errors.As(err, &le):
			errs = append(errs, le)
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			got = append(got, l)
			lines = append(lines, r.Line())
		}
	}
}

func TestReaderDecisionLine(t *testing.T) {
	got, _, errs := read(t, decision+"\n")
	if len(errs) > 0 || len(got) != 1 {
		t.Fatalf("got %d decisions and errors %v, want 1 decision", len(got), errs)
	}
	l := got[0]
	want := time.Date(2026, 3, 14, 9, 26, 53, 123456789, time.UTC)
	if !l.Time.Equal(want) || l.UID != "u1" || l.User != "alice" || l.Operation != "CREATE" || l.Result != "denied" {
		t.Errorf("decision: got %+v", l)
	}
	if res := l.Resource(); res != (finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}) {
		t.Errorf("resource: got %+v", res)
	}
	wantRules := []Rule{
		{ID: "KOR-POD-001", Action: config.Enforce, Source: "pss", Severity: finding.Critical, Message: `privileged containers: "shell"`},
		{ID: "KOR-GOV-004", Action: config.Warn, Source: "governance", Severity: finding.High, Message: "image quay.io/x:1", Remediation: "Use registry.example.com."},
		{ID: "KOR-SVC-001", Action: config.Audit, Source: "svc", Severity: finding.Medium, Message: "NodePort"},
	}
	if len(l.Rules) != len(wantRules) {
		t.Fatalf("rules: got %+v, want %+v", l.Rules, wantRules)
	}
	for i := range wantRules {
		if l.Rules[i] != wantRules[i] {
			t.Errorf("rules[%d]: got %+v, want %+v", i, l.Rules[i], wantRules[i])
		}
	}
}

func TestReaderLines(t *testing.T) {
	tests := []struct {
		name      string
		log       string
		wantLines []int    // lines of the decisions read
		wantErrs  []string // "line: text in the error"
	}{
		{"one line without a newline", decision, []int{1}, nil},
		{"CRLF line endings", decision + "\r\n" + decision + "\r\n", []int{1, 2}, nil},
		{"kubectl --prefix", "[pod/kordon-admission-7d9f/webhook] " + decision + "\n", []int{1}, nil},
		{"kubectl --timestamps", "2026-03-14T09:26:53.123456789Z " + decision + "\n", []int{1}, nil},
		{"kubectl --prefix --timestamps", "[pod/k/webhook] 2026-03-14T09:26:53Z " + decision + "\n", []int{1}, nil},
		{"foreign lines are skipped", strings.Join([]string{
			"",
			"I0314 09:26:53.000000       1 main.go:12] starting",
			`{"time":"2026-03-14T09:26:53Z","level":"WARN","msg":"rule left out","reason":"reads the inventory"}`,
			`{"level":"INFO","message":"admission decision"}`,
			`{"msg":42}`,
			`["admission decision"]`,
			"panic: runtime error",
			decision,
			"   ",
		}, "\n"), []int{8}, nil},
		{"malformed lines are errors and reading goes on", strings.Join([]string{
			`{"msg":"admission decision","uid":`,
			`{"msg":"admission decision","rules":"KOR-POD-001"}`,
			`{"msg":"admission decision","kind":"Pod","rules":[{"action":"audit"}]}`,
			`{"msg":"admission decision","kind":"Pod","rules":[{"id":"KOR-POD-001","action":"block"}]}`,
			`{"msg":"admission decision","rules":[{"id":"KOR-POD-001","action":"audit"}]}`,
			`{"msg":"admission decision","time":"yesterday"}`,
			`{"msg":"admission decision","kind":"Pod","rules":[{"id":"KOR-POD-001","action":"audit","severity":"fatal"}]}`,
			`{"msg":"admission decision"} trailing`,
			decision,
		}, "\n"), []int{9}, []string{
			"1: not a JSON log line",
			"2: malformed decision line: field rules: unexpected JSON string",
			"3: rules[0]: no id",
			`4: rules[0] (KOR-POD-001): action "block": want enforce, warn or audit`,
			"5: rules without a kind",
			"6: malformed decision line",
			"7: malformed decision line",
			"8: not a JSON log line",
		}},
		{"decisions without rules", `{"msg":"admission decision","kind":"Pod","result":"allowed"}` + "\n" +
			`{"msg":"admission decision","result":"error","error":"could not decide"}`, []int{1, 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, lines, errs := read(t, tt.log)
			if !equal(lines, tt.wantLines) {
				t.Errorf("decision lines: got %v, want %v", lines, tt.wantLines)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("errors: got %v, want %d", errs, len(tt.wantErrs))
			}
			for i, want := range tt.wantErrs {
				line, text, _ := strings.Cut(want, ": ")
				got := errs[i].Error()
				if !strings.HasPrefix(got, "test.log:"+line+": ") || !strings.Contains(got, text) {
					t.Errorf("error %d: got %q, want test.log:%s: ...%s...", i, got, line, text)
				}
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReaderLongLine(t *testing.T) {
	long := `{"msg":"admission decision","name":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	exact := strings.Repeat(" ", MaxLineBytes-len(decision)) + decision // at the bound: read
	_, lines, errs := read(t, decision+"\n"+long+"\n"+exact+"\r\n"+decision)
	if !equal(lines, []int{1, 3, 4}) {
		t.Errorf("decision lines: got %v, want [1 3 4]", lines)
	}
	if len(errs) != 1 || errs[0].Line != 2 || !errors.Is(errs[0], ErrLineTooLong) {
		t.Fatalf("errors: got %v, want line 2 too long", errs)
	}
	if !strings.Contains(errs[0].Error(), "test.log:2: line longer than 1048576 bytes") {
		t.Errorf("message: got %q", errs[0].Error())
	}
	// A long last line without a newline.
	_, lines, errs = read(t, decision+"\n"+long)
	if !equal(lines, []int{1}) || len(errs) != 1 || errs[0].Line != 2 {
		t.Errorf("long last line: got lines %v errors %v", lines, errs)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader(decision+"\n"), failingReader{boom}), "x")
	if _, err := r.Next(); err != nil {
		t.Fatalf("first line: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Errorf("got %v, want the reader's error", err)
	}
}

func TestLineResource(t *testing.T) {
	tests := []struct {
		line Line
		want finding.Resource
	}{
		{Line{APIVersion: "apps/v1", Kind: "apps/Deployment", Namespace: "shop", Name: "api"}, finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}},
		{Line{Kind: "Pod", Namespace: "shop", Name: "p"}, finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "p"}},
		{Line{Kind: "apps/Deployment", Namespace: "shop", Name: "api"}, finding.Resource{Kind: "Deployment", Namespace: "shop", Name: "api"}},
		{Line{APIVersion: "v1", Kind: "Namespace", Namespace: "shop", Name: "shop"}, finding.Resource{APIVersion: "v1", Kind: "Namespace", Name: "shop"}},
		{Line{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "rbac.authorization.k8s.io/ClusterRole", Name: "admin"},
			finding.Resource{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "admin"}},
	}
	for _, tt := range tests {
		if got := tt.line.Resource(); got != tt.want {
			t.Errorf("%+v: got %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(decision + "\n" + "[pod/x/y] 2026-03-14T09:26:53Z " + decision)
	f.Add(`{"msg":"admission decision","rules":[{"id":"","action":"x"}]}` + "\n{\n\r\n")
	f.Fuzz(func(t *testing.T, log string) {
		r := NewReader(strings.NewReader(log), "fuzz")
		for i := 0; ; i++ {
			l, err := r.Next()
			var le *LineError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &le):
				if le.Line < 1 {
					t.Fatalf("line error without a line: %v", le)
				}
			case err != nil:
				t.Fatalf("Next: %v", err)
			default:
				for _, rule := range l.Rules {
					if rule.ID == "" || !rule.Action.Valid() {
						t.Fatalf("invalid rule passed: %+v", rule)
					}
				}
				_ = l.Resource()
			}
			if i > len(log)+1 {
				t.Fatalf("more results than lines")
			}
		}
	})
}
