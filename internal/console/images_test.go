package console

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/operator/imagescan"
)

// TestParseVulnMessage reads the messages the operator's conversion
// writes (the real functions), with and without a fix and aliases.
func TestParseVulnMessage(t *testing.T) {
	pkg := inventory.Package{Name: "openssl", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12", Path: "var/lib/dpkg/status", Layer: "sha256:0123456789abcdef0123"}
	ref := "registry.example.com/shop/cart@sha256:" + fmt.Sprintf("%064x", 42)
	for _, tc := range []struct {
		name string
		v    match.Vuln
		want vulnInfo
	}{
		{"fixed, aliases, score", match.Vuln{ID: "DSA-5532-1", Aliases: []string{"CVE-2023-5363", "CVE-2023-5678"}, Package: pkg, FixedVersion: "3.0.11-1~deb12u2", Severity: "high", Score: 7.5},
			vulnInfo{ref, "DSA-5532-1", "openssl", "3.0.11-1~deb12u1", "Debian:12", "3.0.11-1~deb12u2"}},
		{"no fix, no score", match.Vuln{ID: "GHSA-aaaa-bbbb-cccc", Package: inventory.Package{Name: "golang.org/x/net", Version: "v0.17.0", Ecosystem: "Go", Path: "usr/bin/app"}, Severity: "unknown"},
			vulnInfo{ref, "GHSA-aaaa-bbbb-cccc", "golang.org/x/net", "v0.17.0", "Go", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := imagescan.WorkloadFindings(cluster.Image{Ref: ref, Workloads: []cluster.Workload{{Namespace: "shop", Kind: "Deployment", Name: "cart"}}},
				findings.ToFindings([]match.Vuln{tc.v}, "title", nil, findings.Options{}))
			if len(fs) != 1 {
				t.Fatalf("%d findings", len(fs))
			}
			got, ok := parseVulnMessage(fs[0].Message)
			if !ok || got != tc.want {
				t.Errorf("parseVulnMessage(%q) = %+v, %v; want %+v", fs[0].Message, got, ok, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "image ", "image x", "image ref: CVE-1", "image ref: : a b c", "pod x: CVE-1: a b (c)"} {
		if v, ok := parseVulnMessage(bad); ok {
			t.Errorf("parseVulnMessage(%q) = %+v, want not ok", bad, v)
		}
	}
}

type wantImage struct {
	row   ImageRow
	vulns map[string]VulnRow // by ID|package|version
}

// truth computes what the images page must say from the generated images.
func truth(images []genImage) map[string]*wantImage {
	out := map[string]*wantImage{}
	for _, im := range images {
		if len(im.vulns) == 0 {
			continue
		}
		w := &wantImage{row: ImageRow{Image: im.ref, Digest: im.ref[len(im.ref)-71:], Severity: map[string]int{}}, vulns: map[string]VulnRow{}}
		for _, wl := range im.workloads {
			w.row.Workloads = append(w.row.Workloads, Workload{wl.Namespace, wl.Kind, wl.Name})
		}
		slices.SortFunc(w.row.Workloads, compareWorkloads)
		for _, v := range im.vulns {
			sev := findings.Severity(v.Severity)
			w.row.Vulns++
			w.row.Severity[sev.String()]++
			w.row.Worst = max(w.row.Worst, sev)
			if v.FixedVersion != "" {
				w.row.Fixable++
			}
			w.vulns[v.ID+"|"+v.Package.Name+"|"+v.Package.Version] = VulnRow{ID: v.ID, Package: v.Package.Name, Version: v.Package.Version,
				Ecosystem: v.Package.Ecosystem, Fixed: v.FixedVersion, Severity: sev, Workloads: w.row.Workloads}
		}
		out[im.ref] = w
	}
	return out
}

func sameRow(t *testing.T, got, want ImageRow) {
	t.Helper()
	if got.Image != want.Image || got.Digest != want.Digest || got.Vulns != want.Vulns || got.Fixable != want.Fixable || got.Worst != want.Worst ||
		fmt.Sprint(got.Severity) != fmt.Sprint(want.Severity) || fmt.Sprint(got.Workloads) != fmt.Sprint(want.Workloads) {
		t.Errorf("image row\n got %+v\nwant %+v", got, want)
	}
}

// TestImagesPage lists the images of generated rescans stored through the
// operator's sink: the current state of each workload only, counts by
// severity, workloads, filters, and an image's vulnerabilities.
func TestImagesPage(t *testing.T) {
	fx := newFixture(t, 300)
	images := genImages(60, 1)
	fillImages(t, fx.Store, images, testNow.Add(-time.Hour))
	want := truth(images)
	c := login(t, fx.URL, viewerToken)

	var page ImagesPage
	c.get(t, "/console/api/images", &page)
	if page.Total != len(want) || len(page.Images) != len(want) || page.Truncated || page.Unreadable != 0 {
		t.Fatalf("total %d, %d rows, truncated %v, unreadable %d; want %d images", page.Total, len(page.Images), page.Truncated, page.Unreadable, len(want))
	}
	wantFindings := 0
	for _, im := range images {
		wantFindings += len(im.vulns) * len(im.workloads)
	}
	if page.Findings != wantFindings {
		t.Errorf("findings read %d, want %d (the latest rescan only)", page.Findings, wantFindings)
	}
	for i, row := range page.Images {
		w := want[row.Image]
		if w == nil {
			t.Fatalf("unexpected image %s", row.Image)
		}
		sameRow(t, row, w.row)
		if i > 0 {
			prev := page.Images[i-1]
			if prev.Severity["critical"] < row.Severity["critical"] {
				t.Errorf("%s (%d critical) listed before %s (%d critical)", prev.Image, prev.Severity["critical"], row.Image, row.Severity["critical"])
			}
		}
	}

	// Filters: a namespace, a minimum severity, a text.
	ns := images[0].workloads[0].Namespace
	c.get(t, "/console/api/images?namespace="+ns, &page)
	for _, row := range page.Images {
		if !slices.ContainsFunc(row.Workloads, func(w Workload) bool { return w.Namespace == ns }) {
			t.Errorf("namespace %s: image %s runs in %v", ns, row.Image, row.Workloads)
		}
	}
	n := 0
	for _, w := range want {
		if slices.ContainsFunc(w.row.Workloads, func(w Workload) bool { return w.Namespace == ns }) {
			n++
		}
	}
	if page.Total != n {
		t.Errorf("namespace %s: %d images, want %d", ns, page.Total, n)
	}
	c.get(t, "/console/api/images?severity=critical", &page)
	n = 0
	for _, w := range want {
		if w.row.Severity["critical"] > 0 {
			n++
		}
	}
	if page.Total != n {
		t.Errorf("severity=critical: %d images, want %d", page.Total, n)
	}
	c.get(t, "/console/api/images?q=TEAM-3/", &page)
	for _, row := range page.Images {
		if !slices.Contains([]string{"registry.example.com/team-3/"}, row.Image[:len("registry.example.com/team-3/")]) {
			t.Errorf("q=team-3/: %s", row.Image)
		}
	}
	if page.Total == 0 {
		t.Error("q=team-3/: no image")
	}

	// One image's vulnerabilities: the current ones, not the one fixed
	// since the earlier rescan.
	im := images[0]
	var iv ImageVulns
	c.get(t, "/console/api/images/vulns?image="+url.QueryEscape(im.ref), &iv)
	w := want[im.ref]
	sameRow(t, iv.ImageRow, w.row)
	if len(iv.Items) != len(w.vulns) {
		t.Fatalf("%d vulnerabilities, want %d", len(iv.Items), len(w.vulns))
	}
	for i, v := range iv.Items {
		wv, ok := w.vulns[v.ID+"|"+v.Package+"|"+v.Version]
		if !ok {
			t.Errorf("unexpected vulnerability %+v", v)
			continue
		}
		if v.Fixed != wv.Fixed || v.Severity != wv.Severity || v.Ecosystem != wv.Ecosystem || fmt.Sprint(v.Workloads) != fmt.Sprint(wv.Workloads) || v.Message == "" {
			t.Errorf("vulnerability\n got %+v\nwant %+v", v, wv)
		}
		if i > 0 && iv.Items[i-1].Severity < v.Severity {
			t.Errorf("%s listed before a worse %s", iv.Items[i-1].ID, v.ID)
		}
	}
	if code, b := c.do(t, "GET", "/console/api/images/vulns?image=nope", "", nil); code != 404 {
		t.Errorf("unknown image: %d %s", code, b)
	}
	if code, b := c.do(t, "GET", "/console/api/images?severity=awful", "", nil); code != 400 {
		t.Errorf("bad severity: %d %s", code, b)
	}

	// An exception covering the workloads of an image marks its
	// vulnerabilities as excepted.
	ed := login(t, fx.URL, editorToken)
	hdr := map[string]string{"X-Kordon-CSRF": ed.csrf, "Content-Type": "application/json"}
	for _, wl := range im.workloads {
		body := fmt.Sprintf(`{"rule":%q,"kind":%q,"namespace":%q,"name":%q,"reason":"base image replaced next sprint","expires":"2027-01-31"}`,
			findings.VulnRuleID, wl.Kind, wl.Namespace, wl.Name)
		if code, b := ed.do(t, "POST", "/console/api/exceptions", body, hdr); code != 201 {
			t.Fatalf("create exception: %d %s", code, b)
		}
	}
	c.get(t, "/console/api/images/vulns?image="+url.QueryEscape(im.ref), &iv)
	if iv.Excepted != len(w.vulns) {
		t.Errorf("excepted %d of %d", iv.Excepted, len(w.vulns))
	}
	for _, v := range iv.Items {
		if v.Exception == "" {
			t.Errorf("%s: no exception shown", v.ID)
		}
	}
}
