package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kordon-dev/kordon/internal/finding"
)

var (
	imageCause = &Cause{
		ID:          "image-not-pinned",
		Title:       "Image not pinned by digest",
		Explanation: "The image is named by a tag that moves and no digest; every one of these checks passes once the reference carries a digest.",
		Remediation: "Reference the image by digest, keeping a version tag for readers (registry.example.com/app:1.4.0@sha256:...).",
	}
	hardeningCause = &Cause{
		ID:          "container-not-hardened",
		Title:       "Container runs without a restricted securityContext",
		Explanation: "The pod leaves out the settings of the restricted profile; one securityContext sets them all.",
		Remediation: "Set spec.securityContext to runAsNonRoot: true and seccompProfile.type: RuntimeDefault, and in every container allowPrivilegeEscalation: false and capabilities.drop: [ALL].",
	}
	hostCause = &Cause{
		ID:          "host-namespaces",
		Title:       "Pod uses the node's namespaces or ports",
		Explanation: "hostNetwork and hostPort both bind the pod to the node's network.",
		Remediation: "Remove hostNetwork and hostPort and expose the ports through a Service.",
	}
	peerCause = &Cause{
		ID:          "etcd-peer-tls",
		Title:       "etcd peers do not use mutual TLS",
		Explanation: "Peer certificates, peer authentication and no --peer-auto-tls are one configuration.",
		Remediation: "Set --peer-cert-file, --peer-key-file, --peer-client-cert-auth=true and --peer-trusted-ca-file, and remove --peer-auto-tls.",
	}
)

// causeDocs documents the rules of groupedReport with their causes, as the
// CLI does from the catalogue.
func causeDocs() map[string]RuleDoc {
	docs := map[string]RuleDoc{
		"KOR-POD-013": {HelpURI: "https://kordon.dev/rules/KOR-POD-013", Cause: hardeningCause},
	}
	for cause, ids := range map[*Cause][]string{
		imageCause:     {"KOR-IMG-001", "KOR-IMG-002", "KOR-IMG-004"},
		hardeningCause: {"KOR-POD-014", "KOR-POD-016", "KOR-POD-018", "KOR-WL-009"},
		hostCause:      {"KOR-POD-002", "KOR-POD-005"},
		peerCause:      {"KOR-CP-041", "KOR-CP-042", "KOR-CP-043"},
	} {
		for _, id := range ids {
			docs[id] = RuleDoc{Cause: cause}
		}
	}
	return docs
}

// groupedReport has findings of several rules of one cause on one resource
// (grouped), of one rule of a cause (not grouped, even twice), of a cause
// on two resources (grouped per resource) and of rules without a cause.
func groupedReport() *finding.Report {
	web := finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api := finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	etcd := finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "kube-system", Name: "etcd"}
	webAt := &finding.Location{File: "deploy/web.yaml", Line: 3}
	apiAt := &finding.Location{File: "deploy/api.yaml", Line: 1}
	etcdAt := &finding.Location{File: "control-plane/etcd.yaml", Line: 4}
	img := []string{"NSA:image-trust", "NIST-800-190:4.2.2"}
	f := func(id, title string, sev finding.Severity, res finding.Resource, at *finding.Location, msg, fix string, controls ...string) finding.Finding {
		return finding.Finding{RuleID: id, Title: title, Severity: sev, Controls: controls, Resource: res, Location: at, Message: msg, Remediation: fix}
	}
	r := &finding.Report{
		Tool: finding.Tool{Name: "kordon", Version: "v0.4.0"},
		Findings: []finding.Finding{
			f("KOR-IMG-001", "Image uses a mutable tag such as latest", finding.Medium, web, webAt,
				"images with a mutable tag: web=nginx:latest", "Reference a specific version tag or better the image digest.", img...),
			f("KOR-IMG-002", "Image not pinned by digest", finding.Low, web, webAt,
				"images not pinned by digest: web=nginx:latest", "Reference images by digest.", img...),
			f("KOR-IMG-005", "Image name without a registry host", finding.Low, web, webAt,
				"images without a registry host: web=nginx:latest", "Write the registry host in every image reference.", "NSA:image-trust"),
			f("KOR-POD-013", "Container allows privilege escalation", finding.Medium, web, webAt,
				`containers must set securityContext.allowPrivilegeEscalation=false: "web"`, "Set allowPrivilegeEscalation: false.",
				"PSS:allowPrivilegeEscalation", "CIS:5.2.6"),
			f("KOR-POD-014", "Container does not drop all capabilities", finding.Medium, web, webAt,
				`unrestricted capabilities: containers "web" must drop ALL`, `Set capabilities.drop: ["ALL"].`,
				"PSS:capabilities_restricted", "CIS:5.2.8", "CIS:5.2.9"),
			f("KOR-POD-018", "Seccomp profile not set to RuntimeDefault or Localhost", finding.Medium, web, webAt,
				`seccomp profile: container "web" has none`, "Set seccompProfile.type: RuntimeDefault.", "PSS:seccompProfile_restricted"),
			f("KOR-WL-009", "Container without a securityContext", finding.Low, web, webAt,
				"containers without a securityContext: web", "Give every container a securityContext.", "CIS:5.6.3"),
			f("KOR-POD-005", "Container uses a host port", finding.Medium, web, webAt,
				`containers use host ports: "web" (8080)`, "Remove ports[*].hostPort.", "PSS:hostPorts"),
			f("KOR-IMG-002", "Image not pinned by digest", finding.Low, api, apiAt,
				"images not pinned by digest: api=registry.example.com/api:2.4.1", "Reference images by digest.", img...),
			f("KOR-POD-016", "Containers may run as root", finding.Medium, api, apiAt,
				`containers without runAsNonRoot=true (on the container or the pod): "api"`, "Set runAsNonRoot: true.", "PSS:runAsNonRoot"),
			f("KOR-POD-016", "Containers may run as root", finding.Medium, api, apiAt,
				`containers without runAsNonRoot=true (on the container or the pod): "migrate"`, "Set runAsNonRoot: true.", "PSS:runAsNonRoot"),
			f("KOR-CP-041", "etcd peers communicate without TLS", finding.High, etcd, etcdAt,
				"--peer-cert-file is not set; --peer-key-file is not set", "Set --peer-cert-file and --peer-key-file.", "CIS:2.4"),
			f("KOR-CP-042", "etcd does not authenticate peers by certificate", finding.High, etcd, etcdAt,
				"--peer-client-cert-auth is not set (default false)", "Set --peer-client-cert-auth=true.", "CIS:2.5"),
			f("KOR-CP-043", "etcd uses self-signed peer certificates", finding.Medium, etcd, etcdAt,
				"--peer-auto-tls is true", "Remove --peer-auto-tls.", "CIS:2.6"),
			f("KOR-CP-039", "etcd does not authenticate clients by certificate", finding.Critical, etcd, etcdAt,
				"--client-cert-auth=false", "Set --client-cert-auth=true with --trusted-ca-file.", "CIS:2.2"),
		},
		Suppressed: []finding.Finding{func() finding.Finding {
			s := f("KOR-IMG-001", "Image uses a mutable tag such as latest", finding.Medium, api, apiAt,
				"images with a mutable tag: migrate=registry.example.com/tools", "Reference a specific version tag.", img...)
			s.Exception = &finding.Applied{Source: "exceptions.yaml", Reason: "Rebuilt nightly on purpose."}
			return s
		}()},
	}
	r.Summarize(3, 147)
	return r
}

func groupedOptions() Options {
	return Options{Now: fixedNow, Target: "deploy/ control-plane/", BaseDir: ".", Rules: causeDocs()}
}

func TestGroupedGolden(t *testing.T) {
	for _, c := range []struct {
		golden, format string
		color          bool
	}{
		{"grouped.table.golden", "table", false},
		{"grouped.table-color.golden", "table", true},
		{"grouped.html.golden", "html", false},
	} {
		t.Run(c.golden, func(t *testing.T) {
			opts := groupedOptions()
			opts.Color = c.color
			var buf bytes.Buffer
			if err := Write(&buf, c.format, groupedReport(), opts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", c.golden), buf.Bytes())
		})
	}
}

// TestCausesLeaveMachineFormats checks that causes change nothing in the
// formats tools read: one entry per finding, byte for byte as without
// causes, and the rich goldens still match with every rule given a cause.
func TestCausesLeaveMachineFormats(t *testing.T) {
	// The same documentation without causes.
	plain := groupedOptions()
	plain.Rules = map[string]RuleDoc{}
	for id, doc := range causeDocs() {
		doc.Cause = nil
		plain.Rules[id] = doc
	}
	richOpts := Options{Now: fixedNow, Target: "deploy/ rbac/ charts/tools", Config: ".kordon.yaml", BaseDir: ".",
		Rules: map[string]RuleDoc{
			"KOR-POD-001": {
				Description: "A privileged container can do almost anything the host's root user can, including loading kernel modules.",
				HelpURI:     "https://kordon.dev/rules/KOR-POD-001",
				Cause:       hardeningCause,
			},
			"KOR-POD-010":  {Cause: hardeningCause},
			"KOR-IMG-003":  {Cause: imageCause},
			"KOR-RBAC-002": {Cause: imageCause},
		}}
	for _, format := range []string{"json", "sarif", "junit", "policyreport"} {
		t.Run(format, func(t *testing.T) {
			var with, without bytes.Buffer
			if err := Write(&with, format, groupedReport(), groupedOptions()); err != nil {
				t.Fatal(err)
			}
			if err := Write(&without, format, groupedReport(), plain); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(with.Bytes(), without.Bytes()) {
				t.Errorf("causes change the %s output:\n%s", format, firstDiff(without.String(), with.String()))
			}
			for _, cause := range []string{imageCause.Remediation, hardeningCause.Title, peerCause.Title, "Root cause", "root cause"} {
				if strings.Contains(with.String(), cause) {
					t.Errorf("%s output mentions %q", format, cause)
				}
			}
			var rich bytes.Buffer
			if err := Write(&rich, format, richReport(), richOpts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "rich."+format+".golden"), rich.Bytes())
		})
	}
}

func TestGroupByCause(t *testing.T) {
	docs := causeDocs()
	entries := func(r *finding.Report) []entry {
		n := normalize(r)
		return groupByCause(n.Findings, docs)
	}
	type shown struct {
		cause string
		rules []string
		worst finding.Severity
	}
	summarize := func(es []entry) []shown {
		var out []shown
		for _, e := range es {
			s := shown{worst: e.worst}
			if e.cause != nil {
				s.cause = e.cause.ID
			}
			for _, f := range e.findings {
				s.rules = append(s.rules, f.Resource.Name+"/"+f.RuleID)
			}
			out = append(out, s)
		}
		return out
	}
	got := summarize(entries(groupedReport()))
	want := []shown{
		{"", []string{"etcd/KOR-CP-039"}, finding.Critical},
		{"etcd-peer-tls", []string{"etcd/KOR-CP-041", "etcd/KOR-CP-042", "etcd/KOR-CP-043"}, finding.High},
		{"image-not-pinned", []string{"web/KOR-IMG-001", "web/KOR-IMG-002"}, finding.Medium},
		{"", []string{"web/KOR-POD-005"}, finding.Medium}, // its cause's other rule did not fire
		{"container-not-hardened", []string{"web/KOR-POD-013", "web/KOR-POD-014", "web/KOR-POD-018", "web/KOR-WL-009"}, finding.Medium},
		{"", []string{"api/KOR-POD-016"}, finding.Medium}, // one rule twice is no group
		{"", []string{"api/KOR-POD-016"}, finding.Medium},
		{"", []string{"api/KOR-IMG-002"}, finding.Low},
		{"", []string{"web/KOR-IMG-005"}, finding.Low},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].cause != want[i].cause || strings.Join(got[i].rules, ",") != strings.Join(want[i].rules, ",") || got[i].worst != want[i].worst {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// The same resource written in two files is two resources.
	r := groupedReport()
	r.Findings[1].Location = &finding.Location{File: "other/web.yaml", Line: 3}
	for _, e := range entries(r) {
		if e.cause != nil && e.cause.ID == "image-not-pinned" {
			t.Errorf("findings of one resource in two files were grouped: %v", summarize([]entry{e}))
		}
	}
	// Without causes nothing is grouped.
	for _, e := range groupByCause(normalize(groupedReport()).Findings, nil) {
		if e.cause != nil || len(e.findings) != 1 {
			t.Errorf("grouped without causes: %v", summarize([]entry{e}))
		}
	}
}

func TestTableGroupsByCause(t *testing.T) {
	out := renderTable(t, groupedReport(), groupedOptions())
	for _, want := range []string{
		"  MEDIUM    ┌ Root cause: Image not pinned by digest\n",
		"  HIGH      ┌ Root cause: etcd peers do not use mutual TLS\n",
		"            │              fix: Reference the image by digest",
		"  MEDIUM    ├ KOR-IMG-001  images with a mutable tag: web=nginx:latest\n",
		"  LOW       └ KOR-IMG-002  images not pinned by digest: web=nginx:latest\n",
		"  LOW       KOR-IMG-002    images not pinned by digest: api=registry.example.com/api:2.4.1\n",
		"15 findings  1 critical · 2 high · 8 medium · 4 low · 0 info", // counts stay per finding
		"- KOR-IMG-001  Deployment shop/api",                           // suppressed stays per finding
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// A member's own fix gives way to the cause's; a lone finding keeps it.
	for _, gone := range []string{"fix: Set allowPrivilegeEscalation: false.", "fix: Reference a specific version tag"} {
		if strings.Contains(out, gone) {
			t.Errorf("table shows a grouped finding's own %q", gone)
		}
	}
	if !strings.Contains(out, "fix: Remove ports[*].hostPort.") {
		t.Error("a finding its cause does not group lost its fix")
	}
	if n := strings.Count(out, "fix: Reference the image by digest"); n != 1 {
		t.Errorf("the cause's fix is shown %d times, want once", n)
	}
}

// TestTableGroupsWidthAndColor checks the grouped table as TestTableWidth
// and TestTableColor check the plain one (from 80 columns: at 60, words of
// groupedReport such as image references are wider than the text column,
// and a word is never broken).
func TestTableGroupsWidthAndColor(t *testing.T) {
	for _, width := range []int{0, 80, 120} {
		opts := groupedOptions()
		opts.Width = width
		plain := renderTable(t, groupedReport(), opts)
		opts.Color = true
		colored := renderTable(t, groupedReport(), opts)
		if got := ansiEscape.ReplaceAllString(colored, ""); got != plain {
			t.Errorf("width %d: coloured table differs from the plain one beyond escapes:\n%s", width, firstDiff(plain, got))
		}
		limit := width
		if limit == 0 {
			limit = defaultWidth
		}
		for i, line := range strings.Split(plain, "\n") {
			if n := utf8.RuneCountInString(line); n > limit {
				t.Errorf("width %d: line %d has %d columns: %q", width, i+1, n, line)
			}
		}
	}
}

func TestCauseTextIsNeutralised(t *testing.T) {
	docs := causeDocs()
	evil := *imageCause
	evil.Title = "Image \x1b[2Jnot pinned"
	evil.Remediation = "Pin \x1b]0;title\x07it."
	for _, id := range []string{"KOR-IMG-001", "KOR-IMG-002"} {
		docs[id] = RuleDoc{Cause: &evil}
	}
	opts := groupedOptions()
	opts.Rules = docs
	out := renderTable(t, groupedReport(), opts)
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("table passes control characters of a cause through:\n%q", out)
	}
	var buf bytes.Buffer
	evil.Title = `<script>alert("x")</script>`
	if err := Write(&buf, "html", groupedReport(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `<script>alert`) {
		t.Error("HTML contains an unescaped cause title")
	}
}

func TestHTMLGroupsByCause(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "html", groupedReport(), groupedOptions()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`<tr class="cause" data-severity="high" data-severities="high high medium" data-rank="3" data-rule="etcd-peer-tls"`,
		`<div class="cause-title">Image not pinned by digest</div>`,
		`<div class="fix">Fix: Reference the image by digest`,
		`<li data-severity="medium"><span class="badge medium">medium</span> <span class="rule"><a href="https://kordon.dev/rules/KOR-POD-013">KOR-POD-013</a></span>`,
		`<div class="n">15</div><div class="l">findings</div>`, // counts stay per finding
		`data-rule="KOR-POD-005"`, // not grouped
	} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(out, `<tr class="cause"`); n != 3 {
		t.Errorf("HTML has %d cause rows, want 3", n)
	}
	if strings.Contains(out, "Fix: Set allowPrivilegeEscalation: false.") {
		t.Error("HTML shows a grouped finding's own fix")
	}
}
