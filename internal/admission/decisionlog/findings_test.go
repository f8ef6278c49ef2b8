package decisionlog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
)

func testCatalogue(t *testing.T) *rules.Catalogue {
	t.Helper()
	cat, err := rules.NewCatalogue([]*rules.Rule{
		{ID: "T-POD-001", Title: "Privileged container", Severity: finding.Critical, Controls: []string{"PSS:baseline"}, Remediation: "Remove privileged."},
		{ID: "T-SVC-001", Title: "NodePort service", Severity: finding.Medium, Remediation: "Use a LoadBalancer."},
		{ID: "T-NET-002", Aliases: []string{"T-GOV-001"}, Title: "No NetworkPolicy", Severity: finding.High, Remediation: "Add a NetworkPolicy."},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// logLine writes a decision line.
func logLine(at, uid, kind, ns, name string, rules ...string) string {
	apiVersion := "v1"
	if strings.HasPrefix(kind, "apps/") {
		apiVersion = "apps/v1"
	}
	timeField := ""
	if at != "" {
		timeField = fmt.Sprintf(`"time":%q,`, at)
	}
	return fmt.Sprintf(`{%s"level":"INFO","msg":"admission decision","uid":%q,"user":"alice","operation":"CREATE","kind":%q,"apiVersion":%q,"namespace":%q,"name":%q,"result":"allowed","rules":[%s]}`,
		timeField, uid, kind, apiVersion, ns, name, strings.Join(rules, ","))
}

// violation writes a rules entry.
func violation(id string, action config.Action, source, message string) string {
	return fmt.Sprintf(`{"id":%q,"action":%q,"source":%q,"severity":"high","message":%q}`, id, action, source, message)
}

func collect(t *testing.T, opts Options, logs ...string) pipeline.Input {
	t.Helper()
	if opts.Catalogue == nil {
		opts.Catalogue = testCatalogue(t)
	}
	c := NewCollector(opts)
	for i, log := range logs {
		if err := c.Read(strings.NewReader(log), fmt.Sprintf("log%d", i+1)); err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	return c.Input()
}

func messages(fs []finding.Finding) []string {
	finding.Sort(fs)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.RuleID + " " + f.Resource.String() + ": " + f.Message
	}
	return out
}

func wantMessages(t *testing.T, got []finding.Finding, want ...string) {
	t.Helper()
	g := messages(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\ngot:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func TestCollectorDeduplicates(t *testing.T) {
	priv := violation("T-POD-001", config.Audit, "pss-audit", `privileged containers: "shell"`)
	log := strings.Join([]string{
		logLine("2026-03-14T09:00:00.5Z", "u1", "Pod", "shop", "root", priv),
		logLine("2026-03-14T10:00:00Z", "u2", "Pod", "shop", "root", priv),
		logLine("2026-03-14T09:30:00Z", "u3", "Pod", "shop", "root", priv),
		// The same decision again (overlapping logs): counted once.
		logLine("2026-03-14T09:30:00Z", "u3", "Pod", "shop", "root", priv),
		// Another object, another action, another binding, another message: each its own finding.
		logLine("2026-03-14T09:00:00Z", "u4", "Pod", "shop", "other", priv),
		logLine("2026-03-14T09:00:00Z", "u5", "Pod", "shop", "root", violation("T-POD-001", config.Enforce, "pss-audit", `privileged containers: "shell"`)),
		logLine("2026-03-14T09:00:00Z", "u6", "Pod", "shop", "root", violation("T-POD-001", config.Audit, "pss-other", `privileged containers: "shell"`)),
		logLine("2026-03-14T09:00:00Z", "u7", "Pod", "shop", "root", violation("T-POD-001", config.Audit, "pss-audit", `privileged containers: "debug"`)),
	}, "\n")
	in := collect(t, Options{}, log)
	wantMessages(t, in.Findings,
		`T-POD-001 Pod shop/other: privileged containers: "shell" (audit, binding pss-audit; seen once at 2026-03-14T09:00:00Z)`,
		`T-POD-001 Pod shop/root: privileged containers: "debug" (audit, binding pss-audit; seen once at 2026-03-14T09:00:00Z)`,
		`T-POD-001 Pod shop/root: privileged containers: "shell" (audit, binding pss-audit; seen 3 times between 2026-03-14T09:00:00Z and 2026-03-14T10:00:00Z)`,
		`T-POD-001 Pod shop/root: privileged containers: "shell" (audit, binding pss-other; seen once at 2026-03-14T09:00:00Z)`,
		`T-POD-001 Pod shop/root: privileged containers: "shell" (enforce, binding pss-audit; seen once at 2026-03-14T09:00:00Z)`,
	)
	if in.Resources != 2 || in.Checks != 1 {
		t.Errorf("resources, checks: got %d, %d, want 2, 1", in.Resources, in.Checks)
	}
	if len(in.Errors)+len(in.Warnings) > 0 || len(in.Tallies) > 0 {
		t.Errorf("got errors %v, warnings %v, tallies %v; want none", in.Errors, in.Warnings, in.Tallies)
	}

	// Lines without a uid or time are counted per line, across files.
	noUID := logLine("", "", "Pod", "shop", "root", priv)
	in = collect(t, Options{}, noUID+"\n"+noUID, noUID)
	wantMessages(t, in.Findings, `T-POD-001 Pod shop/root: privileged containers: "shell" (audit, binding pss-audit; seen 3 times)`)
}

func TestCollectorFindingFromCatalogue(t *testing.T) {
	log := strings.Join([]string{
		logLine("", "u1", "apps/Deployment", "shop", "api",
			// Governance reports under an alias, with its own fix; the
			// logged severity is the catalogue's at that time.
			`{"id":"T-GOV-001","action":"enforce","source":"governance","severity":"low","message":"no NetworkPolicy","remediation":"Create a policy in shop."}`,
			`{"id":"t-svc-001","action":"warn","source":"svc","severity":"medium","message":""}`),
	}, "\n")
	in := collect(t, Options{}, log)
	finding.Sort(in.Findings)
	if len(in.Findings) != 2 {
		t.Fatalf("findings: got %+v, want 2", in.Findings)
	}
	gov, svc := in.Findings[0], in.Findings[1]
	want := finding.Finding{
		RuleID: "T-GOV-001", Title: "No NetworkPolicy", Severity: finding.High,
		Resource: finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"},
		Message:  "no NetworkPolicy (enforce, governance; seen once)", Remediation: "Create a policy in shop.",
	}
	if gov.RuleID != want.RuleID || gov.Title != want.Title || gov.Severity != want.Severity || gov.Resource != want.Resource ||
		gov.Message != want.Message || gov.Remediation != want.Remediation || gov.Location != nil {
		t.Errorf("governance finding:\ngot  %+v\nwant %+v", gov, want)
	}
	if svc.RuleID != "t-svc-001" || svc.Message != "NodePort service (warn, binding svc; seen once)" || svc.Remediation != "Use a LoadBalancer." {
		t.Errorf("finding without a message: got %+v", svc)
	}
}

func TestCollectorFilters(t *testing.T) {
	cat := testCatalogue(t)
	log := strings.Join([]string{
		logLine("2026-03-14T09:00:00Z", "u1", "Pod", "shop", "a",
			violation("T-POD-001", config.Enforce, "pss", "e"),
			violation("T-POD-001", config.Warn, "pss-warn", "w"),
			violation("T-SVC-001", config.Audit, "svc", "a")),
		logLine("2026-03-14T11:00:00Z", "u2", "Pod", "shop", "b", violation("T-POD-001", config.Audit, "pss-audit", "late")),
	}, "\n")
	svc, _ := cat.Lookup("T-SVC-001")
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"everything", Options{}, []string{"e", "w", "late", "a"}},
		{"audit", Options{Actions: []config.Action{config.Audit}}, []string{"late", "a"}},
		{"warn and enforce", Options{Actions: []config.Action{config.Warn, config.Enforce}}, []string{"e", "w"}},
		{"since", Options{Since: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)}, []string{"late"}},
		{"since, inclusive", Options{Since: time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)}, []string{"late"}},
		{"rules", Options{Rules: []*rules.Rule{svc}}, []string{"a"}},
		{"no rule kept", Options{Rules: []*rules.Rule{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Catalogue = cat
			in := collect(t, tt.opts, log)
			var got []string
			for _, m := range messages(in.Findings) {
				got = append(got, m[strings.Index(m, ": ")+2:strings.Index(m, " (")])
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCollectorProblems(t *testing.T) {
	long := `{"msg":"admission decision","name":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	log := strings.Join([]string{
		logLine("", "u1", "Pod", "shop", "a", violation("T-NOPE-1", config.Audit, "custom", "x")),
		`{"msg":"admission decision",`,
		logLine("", "u2", "Pod", "shop", "b", violation("T-NOPE-1", config.Audit, "custom", "x"), violation("T-POD-001", config.Audit, "pss", "p")),
		long,
		`{"time":"2026-03-14T09:00:00Z","msg":"admission decision","uid":"u3","kind":"Pod","namespace":"shop","name":"c","result":"error","error":"rules pss could not be evaluated in time: context deadline exceeded"}`,
		`{"time":"2026-03-14T09:00:01Z","msg":"admission decision","uid":"u4","kind":"Pod","namespace":"shop","name":"c","result":"error","error":"rules pss could not be evaluated in time: context deadline exceeded"}`,
		`{"msg":"admission decision","uid":"u5","kind":"Pod","namespace":"shop","name":"d","result":"allowed","ruleErrors":["T-SVC-001: no such key: spec"]}`,
		`{"msg":"admission decision","uid":"u6","kind":"Pod","namespace":"kube-system","name":"e","result":"allowed","excluded":"namespace kube-system is excluded"}`,
	}, "\n")
	in := collect(t, Options{}, log)
	wantMessages(t, in.Findings, `T-POD-001 Pod shop/b: p (audit, binding pss; seen once)`)
	var errs, warns []string
	for _, p := range in.Errors {
		errs = append(errs, fmt.Sprintf("%s:%d %s", p.File, p.Line, p.Message))
	}
	for _, p := range in.Warnings {
		warns = append(warns, fmt.Sprintf("%s:%d %s %s", p.File, p.Line, p.Resource, p.Message))
	}
	wantErrs := []string{
		"log1:1 check T-NOPE-1 is not in the rule catalogue (a custom rule? add its folder with --rules) (2 decision lines name it; the first is listed)",
		"log1:2 not a JSON log line: unexpected end of JSON input",
		"log1:4 line longer than 1048576 bytes (1 MiB), not read",
	}
	if strings.Join(errs, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("errors:\ngot:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(wantErrs, "\n"))
	}
	wantWarns := []string{
		"log1:5 Pod shop/c the webhook could not decide: rules pss could not be evaluated in time: context deadline exceeded (2 decisions; the first is listed)",
		"log1:7 Pod shop/d the webhook could not evaluate a rule: T-SVC-001: no such key: spec",
	}
	if strings.Join(warns, "\n") != strings.Join(wantWarns, "\n") {
		t.Errorf("warnings:\ngot:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(wantWarns, "\n"))
	}
	// Objects judged: a, b and d; c was not decided, e was excluded.
	if in.Resources != 3 {
		t.Errorf("resources: got %d, want 3", in.Resources)
	}
	if p := in.Errors[0]; p.RuleID != "T-NOPE-1" || p.Resource == nil || p.Resource.Name != "a" {
		t.Errorf("unknown check error: got %+v, want rule and resource", p)
	}

	// --since needs times.
	in = collect(t, Options{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, log)
	if len(in.Errors) < 1 || !strings.Contains(in.Errors[0].Message, "decision line without a time: the time filter (--since) cannot apply to it, so it is left out (4 decision lines in this log have no time") {
		t.Errorf("--since without times: got errors %+v", in.Errors)
	}
}

func TestCollectorBoundsLineErrors(t *testing.T) {
	log := strings.Repeat("{\n", maxLineErrors+7)
	in := collect(t, Options{}, log)
	if len(in.Errors) != maxLineErrors+1 {
		t.Fatalf("got %d errors, want %d", len(in.Errors), maxLineErrors+1)
	}
	if last := in.Errors[maxLineErrors]; last.Line != 0 || last.Message != "7 more malformed lines not listed" {
		t.Errorf("last error: got %+v", last)
	}
}
