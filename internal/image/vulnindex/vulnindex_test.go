package vulnindex

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/image/findings"
)

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	rec := &Record{Digests: []string{digest('a'), digest('b')}, Ref: "r.example/app@" + digest('a'),
		Scanned:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Findings: []findings.JSONFinding{{ID: "GHSA-1", Aliases: []string{"CVE-2026-1"}, Severity: "high"}}}
	if err := Put(dir, rec); err != nil {
		t.Fatal(err)
	}
	r := NewReader(dir, 0)
	for _, d := range rec.Digests {
		got, err := r.Get(d)
		if err != nil {
			t.Fatalf("Get(%s): %v", d, err)
		}
		if got.Ref != rec.Ref || len(got.Findings) != 1 || got.Findings[0].Aliases[0] != "CVE-2026-1" || !got.Scanned.Equal(rec.Scanned) {
			t.Errorf("Get(%s) = %+v, want %+v", d, got, rec)
		}
	}
	// A rewrite is seen (size or modification time changes).
	rec.Findings = nil
	if err := Put(dir, rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(digest('a'))
	if err != nil || len(got.Findings) != 0 {
		t.Errorf("after rewrite: got %+v, %v; want no findings", got, err)
	}
	if _, err := r.Get(digest('c')); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing record: got %v, want ErrNotFound", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	r := NewReader(dir, 1)
	for _, d := range []string{"", "sha256:abc", "sha512:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("A", 64), "sha256:../../" + strings.Repeat("a", 58)} {
		if _, err := r.Get(d); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): got %v, want a digest error", d, err)
		}
		if err := Put(dir, &Record{Digests: []string{d}}); err == nil {
			t.Errorf("Put(%q): no error", d)
		}
	}
	if err := Put(dir, &Record{}); err == nil {
		t.Error("Put without digest: no error")
	}
	if err := os.MkdirAll(filepath.Join(dir, Subdir), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(d, body string) {
		if err := os.WriteFile(file(dir, d), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(digest('1'), "{not json")
	write(digest('2'), `{"digests": ["`+digest('3')+`"]}`)
	write(digest('4'), strings.Repeat(" ", MaxRecordBytes+1))
	for d, want := range map[string]string{digest('1'): "invalid character", digest('2'): "not of " + digest('2'), digest('4'): "larger than"} {
		_, err := r.Get(d)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file(dir, d)) {
			t.Errorf("Get(%s): got %v, want an error naming the file and %q", d[:12], err, want)
		}
	}
	// Errors are kept, bounded.
	rec := &Record{Digests: []string{digest('5')}}
	for range 30 {
		rec.Errors = append(rec.Errors, "layer x: truncated")
	}
	if err := Put(dir, rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(digest('5'))
	if err != nil || got.Complete() || len(got.Errors) != maxErrors+1 || !strings.Contains(got.Errors[maxErrors], "10 more") {
		t.Errorf("errors: got %v, %v; want %d errors and a count of the rest", got.Errors, err, maxErrors)
	}
	// The cache stays bounded (size 1) and still answers.
	if _, err := r.Get(digest('5')); err != nil || len(r.entries) > 1 {
		t.Errorf("bounded cache: %d entries, %v", len(r.entries), err)
	}
}

// BenchmarkGet is one lookup of a cached record (a stat), as the webhook
// makes per container.
func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	rec := &Record{Digests: []string{digest('a')}}
	for i := range 200 {
		rec.Findings = append(rec.Findings, findings.JSONFinding{ID: "GHSA-" + strings.Repeat("x", i%7), Severity: "high"})
	}
	if err := Put(dir, rec); err != nil {
		b.Fatal(err)
	}
	r := NewReader(dir, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Get(digest('a')); err != nil {
			b.Fatal(err)
		}
	}
}
