package config

import (
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

func TestParseVulnerableImages(t *testing.T) {
	c, err := Parse([]byte(`
governance:
  vulnerableImages:
    action: enforce
    cacheDir: /var/cache/kordon/inventory
    severity: critical
    ignoreUnfixed: true
    unscanned: deny
    maxAge: 48h
    exceptions:
      - {id: CVE-2024-1234, images: ["registry.example.com/*"], reason: not reachable}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Governance.VulnerableImages
	if p == nil || p.MinSeverity() != finding.Critical || !p.IgnoreUnfixed || p.Unscanned != UnscannedDeny || p.MaxAge.Duration != 48*time.Hour || len(p.Exceptions) != 1 {
		t.Fatalf("got %+v", p)
	}
	if d := (&VulnerableImages{}).MinSeverity(); d != finding.High {
		t.Errorf("default severity %s, want high", d)
	}
}

func TestParseVulnerableImagesErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no cache", "governance: {vulnerableImages: {action: enforce}}", []string{"governance.vulnerableImages.cacheDir: name the scan cache folder"}},
		{"bad severity", "governance: {vulnerableImages: {action: enforce, cacheDir: /c, severity: info}}", []string{`governance.vulnerableImages.severity: "info" is not one of low, medium, high, critical`}},
		{"bad unscanned", "governance: {vulnerableImages: {action: enforce, cacheDir: /c, unscanned: ignore}}", []string{`governance.vulnerableImages.unscanned: "ignore" is not one of deny, warn, allow`}},
		{"bad exception", "governance: {vulnerableImages: {action: warn, cacheDir: /c, exceptions: [{id: 'CVE-*'}, {id: x, images: ['a@b']}]}}",
			[]string{`exceptions[0].id: "CVE-*" is not an OSV ID or alias`, `exceptions[1].images[0]: "a@b" is not a registry/repository pattern`}},
		{"no action", "governance: {vulnerableImages: {cacheDir: /c}}", []string{"governance.vulnerableImages.action"}},
		{"negative age", "governance: {vulnerableImages: {action: warn, cacheDir: /c, maxAge: -1h}}", []string{"governance.vulnerableImages.maxAge: -1h0m0s is outside"}},
		{"unknown field", "governance: {vulnerableImages: {action: warn, cacheDir: /c, ignoreUnFixed: true}}", []string{`unknown field "ignoreUnFixed"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
