package governance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/k8s"
)

func digestOf(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// vulnCache writes scan records: a (critical, fixed; high, unfixed), b
// (clean), c (incomplete and clean), d (old).
func vulnCache(t testing.TB, scanned time.Time) string {
	t.Helper()
	dir := t.TempDir()
	put := func(d byte, r vulnindex.Record) {
		r.Digests = []string{digestOf(d)}
		if r.Scanned.IsZero() {
			r.Scanned = scanned
		}
		if err := vulnindex.Put(dir, &r); err != nil {
			t.Fatal(err)
		}
	}
	put('a', vulnindex.Record{Findings: []findings.JSONFinding{
		{ID: "DSA-1", Aliases: []string{"CVE-2026-1"}, Package: findings.Package{Name: "openssl", Version: "3.0.1"}, Severity: "critical", FixedVersion: "3.0.2"},
		{ID: "GHSA-2", Aliases: []string{"CVE-2026-2"}, Package: findings.Package{Name: "zlib", Version: "1.2"}, Severity: "high"},
		{ID: "DSA-3", Package: findings.Package{Name: "bash", Version: "5.2"}, Severity: "low", FixedVersion: "5.3"},
		{ID: "DSA-4", Package: findings.Package{Name: "tar", Version: "1.3"}, Severity: "unknown", FixedVersion: "1.4"},
	}})
	put('b', vulnindex.Record{})
	put('c', vulnindex.Record{Errors: []string{"layer sha256:1: unexpected EOF"}})
	put('d', vulnindex.Record{Scanned: scanned.Add(-48 * time.Hour)})
	return dir
}

func TestVulnerableImages(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	dir := vulnCache(t, now.Add(-time.Hour))
	img := func(d byte) string { return "registry.example.com/app@" + digestOf(d) }
	base := config.VulnerableImages{CacheDir: dir, MaxAge: config.Duration{Duration: 24 * time.Hour}}
	type want struct {
		id, msg string
		atMost  config.Action
	}
	tests := []struct {
		name   string
		mutate func(*config.VulnerableImages)
		images []string
		want   []want
	}{
		{"critical and high", nil, []string{img('a')}, []want{{VulnerableImagesID, "has 2 vulnerabilities at or above high: DSA-1 (CVE-2026-1) in openssl 3.0.1, critical, fixed in 3.0.2; GHSA-2 (CVE-2026-2) in zlib 1.2, high, no fix known", ""}}},
		{"ignore unfixed", func(c *config.VulnerableImages) { c.IgnoreUnfixed = true }, []string{img('a')}, []want{{VulnerableImagesID, "has 1 vulnerability at or above high: DSA-1", ""}}},
		{"exception by id and alias", func(c *config.VulnerableImages) {
			c.Exceptions = []config.VulnerabilityException{{ID: "DSA-1"}, {ID: "CVE-2026-2"}}
		}, []string{img('a')}, nil},
		{"exception for other images", func(c *config.VulnerableImages) {
			c.Exceptions = []config.VulnerabilityException{{ID: "DSA-1", Images: []string{"other.example.com/*"}}, {ID: "CVE-2026-2", Images: []string{"registry.example.com/app"}}}
		}, []string{img('a')}, []want{{VulnerableImagesID, "has 1 vulnerability at or above high: DSA-1", ""}}},
		{"medium counts unknown", func(c *config.VulnerableImages) { c.Severity = "medium" }, []string{img('a')}, []want{{VulnerableImagesID, "has 3 vulnerabilities at or above medium: DSA-1 (CVE-2026-1) in openssl 3.0.1, critical, fixed in 3.0.2; GHSA-2 (CVE-2026-2) in zlib 1.2, high, no fix known; DSA-4 in tar 1.3, unknown, fixed in 1.4", ""}}},
		{"clean", nil, []string{img('b')}, nil},
		{"not in the cache warns", nil, []string{img('e')}, []want{{UnscannedImageID, "image " + img('e') + " was not judged for vulnerabilities: the scan cache has no record of it", config.Warn}}},
		{"not in the cache denies", func(c *config.VulnerableImages) { c.Unscanned = config.UnscannedDeny }, []string{img('e')}, []want{{UnscannedImageID, "was not judged", ""}}},
		{"not in the cache allowed (audit)", func(c *config.VulnerableImages) { c.Unscanned = config.UnscannedAllow }, []string{img('e')}, []want{{UnscannedImageID, "was not judged", config.Audit}}},
		{"incomplete scan", nil, []string{img('c')}, []want{{UnscannedImageID, "its scan was incomplete (layer sha256:1: unexpected EOF)", config.Warn}}},
		{"stale record", nil, []string{img('d')}, []want{{UnscannedImageID, "older than maxAge 24h0m0s", config.Warn}}},
		{"stale record without maxAge", func(c *config.VulnerableImages) { c.MaxAge.Duration = 0 }, []string{img('d')}, nil},
		{"unresolvable tag", nil, []string{"127.0.0.1:1/app:1.0"}, []want{{UnscannedImageID, "image 127.0.0.1:1/app:1.0 was not judged for vulnerabilities: its digest is unknown (resolve 127.0.0.1:1/app:1.0", config.Warn}}},
		{"each container", nil, []string{img('b'), img('a')}, []want{{VulnerableImagesID, "container c1: image " + img('a') + " has 2", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			p := NewVulnerableImages(&cfg, func() time.Time { return now })
			got := mustCheck(t, p, req(t, Create, "alice", nil, podWith(nil, tt.images), ""))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tt.want), messages(got))
			}
			for i, w := range tt.want {
				if got[i].ID != w.id || !strings.Contains(got[i].Message, w.msg) || got[i].AtMost != w.atMost {
					t.Errorf("violation %d: got %s %q (at most %q), want %s containing %q (at most %q)", i, got[i].ID, got[i].Message, got[i].AtMost, w.id, w.msg, w.atMost)
				}
			}
		})
	}
}

// TestVulnerableImagesPodStatus: a Pod update that changes a container's
// image to a tag is looked up by the digest its status reports for that
// image; an unchanged image is not judged again.
func TestVulnerableImagesPodStatus(t *testing.T) {
	dir := vulnCache(t, time.Now())
	p := NewVulnerableImages(&config.VulnerableImages{CacheDir: dir}, nil)
	pod := func(image, statusImage, imageID string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers: [{name: app, image: %q}]\nstatus:\n  containerStatuses: [{name: app, image: %q, imageID: %q}]\n", image, statusImage, imageID)
	}
	newPod := pod("nginx:1.27", "docker.io/library/nginx:1.27", "docker-pullable://docker.io/library/nginx@"+digestOf('a'))
	oldPod := pod("nginx:1.26", "docker.io/library/nginx:1.26", "docker.io/library/nginx@"+digestOf('b'))
	got := mustCheck(t, p, req(t, Update, "alice", nil, newPod, oldPod))
	if len(got) != 1 || got[0].ID != VulnerableImagesID || !strings.Contains(got[0].Message, "nginx:1.27 ("+digestOf('a')+") has 2") {
		t.Errorf("got %s, want KOR-GOV-007 for the digest of the status", messages(got))
	}
	if got := mustCheck(t, p, req(t, Update, "alice", nil, newPod, newPod)); len(got) != 0 {
		t.Errorf("unchanged image judged again: %s", messages(got))
	}
}

// BenchmarkVulnerableImages is one admission request: a pod of three
// containers by digest, each looked up in a cache of 1,000 records of 50
// vulnerabilities.
func BenchmarkVulnerableImages(b *testing.B) {
	dir := b.TempDir()
	var images []string
	for i := range 1000 {
		d := fmt.Sprintf("sha256:%064x", i)
		r := &vulnindex.Record{Digests: []string{d}, Scanned: time.Now()}
		for j := range 50 {
			sev := []string{"low", "medium", "high", "critical"}[j%4]
			r.Findings = append(r.Findings, findings.JSONFinding{ID: fmt.Sprintf("GHSA-%d-%d", i, j), Aliases: []string{fmt.Sprintf("CVE-2026-%d", j)},
				Package: findings.Package{Name: fmt.Sprintf("pkg%d", j), Version: "1.0"}, Severity: sev, FixedVersion: "1.1"})
		}
		if err := vulnindex.Put(dir, r); err != nil {
			b.Fatal(err)
		}
		if i%333 == 0 {
			images = append(images, "registry.example.com/app"+fmt.Sprint(i)+"@"+d)
		}
	}
	p := NewVulnerableImages(&config.VulnerableImages{CacheDir: dir, IgnoreUnfixed: true,
		Exceptions: []config.VulnerabilityException{{ID: "CVE-2026-3"}, {ID: "CVE-2026-7"}}}, nil)
	objs, errs := k8s.Decode([]byte(podWith(nil, images[:3])), "pod.yaml")
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	r := &Request{Operation: Create, Kind: "Pod", Namespace: "shop", Name: "p", Object: objs[0]}
	b.ReportAllocs()
	for b.Loop() {
		vs, err := p.Check(context.Background(), r)
		if err != nil || len(vs) != 3 {
			b.Fatalf("got %d violations, %v", len(vs), err)
		}
	}
}
