package console

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/store"
)

var artifacts = flag.String("artifacts", filepath.Join(os.TempDir(), "kordon-console-artifacts"), "directory for the browser test's screenshots")

// chromium returns Debian's chromium, which make test installs; the test
// is skipped, saying so, where it is missing.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("KORDON_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Skip("no chromium (apt-get install chromium; make test installs it): the console is not tested in a real browser")
	return ""
}

// axeSource is axe-core from the front end's node_modules (make console
// and make test install it with npm ci).
const axeSource = "../../web/console/node_modules/axe-core/axe.min.js"

type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		// Target is a CSS selector per frame or shadow root (a string,
		// or a list of them inside a shadow root).
		Target []json.RawMessage `json:"target"`
	} `json:"nodes"`
}

// browser drives one headless chromium against the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	axe  string
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T) *browser {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 860), chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	b := &browser{t: t, ctx: bctx}
	// Every console error (a CSP violation, a failed request, an
	// uncaught exception) fails the test.
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	if src, err := os.ReadFile(axeSource); err == nil {
		b.axe = string(src)
	}
	if err := os.MkdirAll(*artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// violations runs axe-core on the page shown.
func (b *browser) violations(name string) []violation {
	b.t.Helper()
	get(b, name+": load axe", chromedp.Evaluate[bool](b.axe+";true"))
	out := get(b, name+": axe", chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	var vs []violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("%s: axe: %v", name, err)
	}
	return vs
}

// get runs an action that returns a value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// page checks the page now shown: no console errors, no serious or
// critical accessibility violation, and keeps a screenshot.
// expectLogged waits until the browser has logged an error naming status
// (console messages arrive after the page saw the answer) and forgets
// those errors, so that page does not report them.
func (b *browser) expectLogged(status string) {
	b.t.Helper()
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b.mu.Lock()
		kept := b.errs[:0]
		found := false
		for _, e := range b.errs {
			if strings.Contains(e, status) {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		b.errs = kept
		b.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(end) {
			b.t.Errorf("the browser never logged the expected %s answer", status)
			return
		}
	}
}

func (b *browser) page(name string) {
	b.t.Helper()
	png := get(b, name+": screenshot", chromedp.CaptureScreenshot())
	file := filepath.Join(*artifacts, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("%s: screenshot %s", name, file)
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: %s", name, e)
	}
	if b.axe == "" {
		b.t.Errorf("%s: no accessibility check: %s is missing (run make console-deps)", name, axeSource)
		return
	}
	vs := b.violations(name)
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			for _, t := range n.Target {
				where = append(where, string(t))
			}
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility (%s) %s: %s at %s", name, v.Impact, v.ID, v.Help, strings.Join(where, ", "))
		} else {
			b.t.Logf("%s: accessibility (%s) %s: %s", name, v.Impact, v.ID, v.Help)
		}
	}
}

// choose picks an option of a select as a user does: the value set
// through the element's native setter and a change event, which React
// sees.
func choose(id, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const el = document.getElementById(%q);
	  Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(el, %q);
	  return el.dispatchEvent(new Event('change', {bubbles: true})) })()`, id, value)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

// typeText replaces a code editor's text as a paste does: one change
// through the CodeMirror view, which tells the page.
func typeText(id, text string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const v = document.querySelector('[data-editor=%q]').cmView;
	  v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: %q}}); return true })()`, id, text)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

// TestConsoleInBrowser logs in to a console holding generated data, opens
// every page, filters the findings, creates an exception for one and sees
// it listed, all in headless chromium against the real server.
func TestConsoleInBrowser(t *testing.T) {
	b := newBrowser(t)
	fx := newFixture(t, 2000)
	// Image rescans two days ago and an hour ago.
	images := genImages(40, 2)
	fillImages(t, fx.Store, images, testNow.Add(-time.Hour))
	total := 2000
	for _, im := range images {
		total += (2*len(im.vulns) + len(im.gone)) * len(im.workloads)
	}

	b.run("login page", chromedp.Navigate(fx.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	b.page("login")
	// The check can fail: an input without a label is a critical violation.
	if b.axe != "" {
		get(b, "probe", chromedp.Evaluate[bool](`document.body.insertAdjacentHTML('beforeend', '<input id="probe">'); true`))
		found := false
		for _, v := range b.violations("probe") {
			found = found || (v.ID == "label" && v.Impact == "critical")
		}
		if !found {
			t.Error("axe did not report an input without a label")
		}
		get(b, "probe", chromedp.Evaluate[bool](`document.getElementById('probe').remove(); true`))
	}
	b.run("wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token-at-all"), chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-form [role=alert]`)))
	b.expectLogged("401") // the browser logs the answer to the wrong token
	b.run("log in", chromedp.Navigate(fx.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), editorToken),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("severity-cards")))
	cards := get(b, "overview", chromedp.Text(chromedp.ID("severity-cards")))
	if !strings.Contains(cards, thousands(total)) || !strings.Contains(cards, "critical") {
		t.Errorf("overview cards %q", cards)
	}
	b.page("overview")
	b.run("compliance by namespace", chromedp.ScrollIntoView(chromedp.ID("ns-compliance")), chromedp.Click(chromedp.ID("ns-all")))
	nss, err := fx.Store.Count(context.Background(), store.Filter{Types: []store.Type{store.TypeFinding}}, []store.Column{store.ColNamespace})
	if err != nil {
		t.Fatal(err)
	}
	if n := get(b, "namespace scores", chromedp.Evaluate[int](`document.querySelectorAll('#ns-compliance tbody tr').length`)); n != len(nss) {
		t.Errorf("compliance of %d namespaces shown, want %d", n, len(nss))
	}
	b.page("overview-compliance")

	// Filter the findings by typing into the form.
	b.run("findings", chromedp.Click(chromedp.CSS(`a[href="#/findings"]`)), chromedp.WaitVisible(chromedp.CSS("#findings-table tbody tr")))
	b.page("findings")
	b.run("filter", chromedp.SendKeys(chromedp.ID("f-namespace"), "ns-3"), chromedp.SendKeys(chromedp.ID("f-q"), "app-1"),
		chromedp.Click(chromedp.ID("f-apply")), chromedp.WaitVisible(chromedp.Search(`//p[@id="findings-summary"][contains(., "search read")]`)))
	rows := get(b, "filtered rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#findings-table tbody tr td:nth-child(3)')].map(td => td.textContent)`))
	summary := get(b, "summary", chromedp.Text(chromedp.ID("findings-summary")))
	if len(rows) == 0 {
		t.Fatalf("no findings after filtering (%s)", summary)
	}
	for _, r := range rows {
		if !strings.Contains(r, "ns-3/app-1") {
			t.Errorf("filtered row %q is not in ns-3 or does not match app-1", r)
		}
	}
	b.page("findings-filtered")

	// Group by rule.
	b.run("group", choose("f-group", "rule"), chromedp.Click(chromedp.ID("f-apply")), chromedp.WaitVisible(chromedp.ID("groups-table")))
	b.page("findings-grouped")
	b.run("ungroup", choose("f-group", ""), chromedp.Click(chromedp.ID("f-apply")), chromedp.WaitVisible(chromedp.ID("findings-table")))

	// Create an exception for the first finding shown.
	b.run("exception form", chromedp.Click(chromedp.CSS(`#findings-table button.except`)), chromedp.WaitVisible(chromedp.ID("exception-form")))
	b.page("exception-form")
	b.run("save exception", chromedp.SendKeys(chromedp.ID("e-reason"), "accepted until the app is rewritten"),
		chromedp.Click(chromedp.ID("e-save")), chromedp.WaitNotPresent(chromedp.ID("exception-form")),
		chromedp.WaitVisible(chromedp.CSS(`#findings-table .excepted`)))
	// Only the excepted findings, then none of them.
	b.run("only excepted", choose("f-excepted", "only"), chromedp.Click(chromedp.ID("f-apply")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="findings-summary"][contains(., "search read")]`)), chromedp.WaitVisible(chromedp.CSS(`#findings-table tbody tr`)))
	// The summary and the rows of the previous list may still be shown
	// for a moment: wait (bounded) for a table of excepted rows only.
	_, _ = chromedp.Run(b.ctx, chromedp.Poll[bool](`(() => { const rows = [...document.querySelectorAll('#findings-table tbody tr')]; return rows.length > 0 && rows.every(tr => tr.querySelector('.excepted')) })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if n := get(b, "excepted rows", chromedp.Evaluate[[]int](`[...document.querySelectorAll('#findings-table tbody tr')].map(tr => tr.querySelectorAll('.excepted').length)`)); len(n) == 0 || slices.Contains(n, 0) {
		t.Errorf("excepted=only: rows with an exception shown %v", n)
	}
	b.page("findings-excepted")
	b.run("hide excepted", choose("f-excepted", "hide"), chromedp.Click(chromedp.ID("f-apply")), chromedp.WaitVisible(chromedp.CSS(`#findings-table tbody tr button.except`)))
	if n := get(b, "hidden", chromedp.Evaluate[int](`document.querySelectorAll('#findings-table .excepted').length`)); n != 0 {
		t.Errorf("excepted=hide: %d excepted findings shown", n)
	}
	b.run("all again", choose("f-excepted", ""), chromedp.Click(chromedp.ID("f-apply")), chromedp.WaitVisible(chromedp.CSS(`#findings-table tbody tr`)))
	list, err := fx.Exc.List(context.Background(), false, 10)
	if err != nil || len(list) != 1 || list[0].Author != "alice" || list[0].Namespace != "ns-3" || list[0].Reason != "accepted until the app is rewritten" {
		t.Fatalf("stored exceptions %+v %v", list, err)
	}

	// The network map: open the busiest namespace, trace a connection
	// between two of its workloads, see a workload's effective policy.
	count := map[string]int{}
	busiest := ""
	for _, w := range fx.Cluster.Workloads {
		count[w.Namespace]++
		if count[w.Namespace] > count[busiest] {
			busiest = w.Namespace
		}
	}
	// Observed flows between the busiest namespace's first workloads, as
	// the flow ingestion stores them.
	var ws []*model.Workload
	for i := range fx.Cluster.Workloads {
		if w := &fx.Cluster.Workloads[i]; w.Namespace == busiest && len(ws) < 6 {
			ws = append(ws, w)
		}
	}
	var pairs [][2]*model.Workload
	for _, a := range ws {
		for _, c := range ws[:3] {
			if a != c {
				pairs = append(pairs, [2]*model.Workload{a, c})
			}
		}
	}
	if err := fx.Store.Append(context.Background(), flowEvents(pairs, 3)); err != nil {
		t.Fatal(err)
	}
	b.run("network page", chromedp.Click(chromedp.CSS(`a[href="#/network"]`)), chromedp.WaitVisible(chromedp.ID("ns-table")),
		chromedp.WaitVisible(chromedp.CSS(`.graph[data-drawn]`)))
	checkNoOverlap(b, "namespaces level", len(fx.Map.Namespaces().Nodes))
	b.page("network")
	b.run("open namespace", chromedp.Click(chromedp.Search(`//table[@id="ns-table"]//button[text()="`+busiest+`"]`)),
		chromedp.WaitVisible(chromedp.ID("wl-table")))
	b.run("observed flows", chromedp.WaitVisible(chromedp.ID("flows-summary")))
	seen := get(b, "flows seen", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#wl-table tbody tr td:nth-child(4)')].map(td => td.textContent)`))
	yes := 0
	for _, v := range seen {
		if v == "yes" {
			yes++
		}
	}
	if yes != len(ws) {
		t.Errorf("%d workloads shown with flows seen, want %d", yes, len(ws))
	}
	b.page("network-flows")
	b.run("pick two", chromedp.Click(chromedp.CSS(`#wl-table tbody tr:nth-child(1) button.from`)),
		chromedp.Click(chromedp.CSS(`#wl-table tbody tr:nth-child(2) button.to`)), chromedp.Click(chromedp.ID("t-run")),
		chromedp.WaitVisible(chromedp.ID("trace-result")))
	heading := get(b, "trace heading", chromedp.Text(chromedp.ID("trace-h")))
	src := get(b, "src", chromedp.Value(chromedp.ID("t-src")))
	dst := get(b, "dst", chromedp.Value(chromedp.ID("t-dst")))
	_, allowed, err := fx.Srv.o.Map.Trace(src, dst, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{true: "allowed", false: "denied"}[allowed]; !strings.Contains(heading, src) || !strings.HasSuffix(heading, want) {
		t.Errorf("trace heading %q, want %s → %s: %s", heading, src, dst, want)
	}
	b.run("effective policy", chromedp.Click(chromedp.CSS(`#wl-table tbody tr:nth-child(1) button.link`)), chromedp.WaitVisible(chromedp.ID("effective")))
	b.page("network-trace")

	// The policy editor: the example compiles; a broken intent says why;
	// an intent that zones the busiest namespace shows its diff.
	b.run("editor", chromedp.Click(chromedp.CSS(`a[href="#/editor"]`)), chromedp.WaitVisible(chromedp.ID("generated")))
	b.run("broken intent", typeText("intent", "apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\nrules:\n  - from: nobody\n    to: nowhere\n"),
		chromedp.WaitVisible(chromedp.ID("intent-error")))
	get(b, "error marker", chromedp.Poll[bool](`document.querySelector('[data-editor="intent"]').shadowRoot.querySelector('.cm-lintRange-error') !== null`,
		chromedp.WithPollingTimeout(20*time.Second)))
	b.expectLogged("422") // the browser logs the answer to the broken intent
	b.page("editor-error")
	lockdown := "apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\nmetadata:\n  name: lockdown\ngroups:\n  inside:\n    namespaces: [" + busiest +
		"]\nzones:\n  - namespaces: [" + busiest + "]\nrules:\n  - from: inside\n    to: inside\n    ports: [tcp/8080]\n"
	b.run("edit intent", typeText("intent", lockdown), chromedp.WaitVisible(chromedp.ID("diff-table")))
	if sum := get(b, "diff summary", chromedp.Text(chromedp.ID("diff-summary"))); !strings.Contains(sum, "connections change") {
		t.Errorf("diff summary %q", sum)
	}
	if gen := get(b, "generated", chromedp.Text(chromedp.ID("generated"))); !strings.Contains(gen, "namespace: "+busiest) {
		t.Errorf("generated policies do not name %s:\n%s", busiest, gen)
	}
	// Test the example CEL rule against its fixture: one finding.
	b.run("rule test", chromedp.Click(chromedp.ID("rt-run")), chromedp.WaitVisible(chromedp.ID("rt-result")))
	if res := get(b, "rule test result", chromedp.Text(chromedp.ID("rt-result"))); !strings.Contains(res, "ACME-IMG-001") || !strings.Contains(res, "docker.io/library/nginx") {
		t.Errorf("rule test result %q", res)
	}
	b.page("editor")

	// Events pages: WAF blocks and runtime alerts, linked to the workload.
	b.run("events page", chromedp.Click(chromedp.CSS(`header a[href="#/events"]`)), chromedp.WaitVisible(chromedp.CSS("#events-table tbody tr")))
	rules := get(b, "waf rules", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#events-table tbody tr td:nth-child(3)')].map(td => td.textContent)`))
	for _, r := range rules {
		if !strings.HasPrefix(r, "KOR-WAF-") {
			t.Errorf("WAF page lists rule %q", r)
		}
	}
	b.page("events-waf")
	b.run("runtime alerts", chromedp.Click(chromedp.CSS(`a[href="#/events?engine=sensor"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="events-table"]//td[text()="KOR-RT-001"]`)))
	b.page("events-runtime")
	b.run("to the workload", chromedp.Click(chromedp.CSS(`#events-table a.workload`)), chromedp.WaitVisible(chromedp.ID("findings-filter")))
	if ns := get(b, "namespace filter", chromedp.Value(chromedp.ID("f-namespace"))); !strings.HasPrefix(ns, "ns-") {
		t.Errorf("the workload link opened findings of namespace %q", ns)
	}

	// Vulnerable images: the list, one image's vulnerabilities, a
	// workload that runs it.
	b.run("images page", chromedp.Click(chromedp.CSS(`header a[href="#/images"]`)), chromedp.WaitVisible(chromedp.CSS("#images-table tbody tr")))
	want := truth(images)
	if n := get(b, "image rows", chromedp.Evaluate[int](`document.querySelectorAll('#images-table tbody tr').length`)); n != len(want) {
		t.Errorf("images page lists %d images, want %d", n, len(want))
	}
	b.page("images")
	first := get(b, "first image", chromedp.Evaluate[string](`decodeURIComponent(document.querySelector('#images-table a.image').getAttribute('href').split('image=')[1])`))
	b.run("image vulnerabilities", chromedp.Click(chromedp.CSS(`#images-table a.image`)), chromedp.WaitVisible(chromedp.CSS("#vulns-table tbody tr")))
	if h := get(b, "image heading", chromedp.Evaluate[string](`document.getElementById('image-h').textContent`)); want[first] == nil || !strings.Contains(h, first) {
		t.Errorf("image heading %q, want the first listed image %q", h, first)
	} else if n := get(b, "vuln rows", chromedp.Evaluate[int](`document.querySelectorAll('#vulns-table tbody tr').length`)); n != len(want[first].vulns) {
		t.Errorf("%s: %d vulnerabilities shown, want %d", first, n, len(want[first].vulns))
	}
	b.page("image-vulns")
	b.run("image workload", chromedp.Click(chromedp.CSS(`#vulns-table a.workload`)), chromedp.WaitVisible(chromedp.ID("findings-filter")))
	if name := get(b, "name filter", chromedp.Value(chromedp.ID("f-name"))); !strings.HasPrefix(name, "app-") {
		t.Errorf("the image's workload link opened findings of name %q", name)
	}

	b.run("exceptions page", chromedp.Click(chromedp.CSS(`a[href="#/exceptions"]`)), chromedp.WaitVisible(chromedp.Search(`//table[@id="audit-table"]//td[contains(., "created")]`)))
	table := get(b, "exceptions table", chromedp.Text(chromedp.ID("exceptions-table")))
	if !strings.Contains(table, "accepted until the app is rewritten") || !strings.Contains(table, "alice") {
		t.Errorf("exceptions table %q", table)
	}
	b.page("exceptions")
}

// thousands formats n with commas, as the console shows counts.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// overlapJS lists the pairs of drawn nodes whose bounding boxes (labels
// included) intersect, and the number of nodes drawn.
const overlapJS = `(() => {
  const cy = document.querySelector('.graph').cy
  const boxes = cy.nodes().map((n) => ({ id: n.id(), b: n.boundingBox({ includeLabels: true }) }))
  const out = []
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].b, c = boxes[j].b
    if (a.x1 < c.x2 && c.x1 < a.x2 && a.y1 < c.y2 && c.y1 < a.y2) out.push(boxes[i].id + ' / ' + boxes[j].id)
  }
  return { nodes: boxes.length, overlaps: out }
})()`

// checkNoOverlap fails when the graph drew another number of nodes than
// want, or when two nodes (with their labels) overlap.
func checkNoOverlap(b *browser, what string, want int) {
	b.t.Helper()
	got := get(b, what+": node boxes", chromedp.Evaluate[struct {
		Nodes    int      `json:"nodes"`
		Overlaps []string `json:"overlaps"`
	}](overlapJS))
	if got.Nodes != want || len(got.Overlaps) > 0 {
		b.t.Errorf("%s: %d nodes drawn (want %d), overlapping: %v", what, got.Nodes, want, got.Overlaps)
	}
}
