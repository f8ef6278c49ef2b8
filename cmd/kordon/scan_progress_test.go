package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestScanProgressOnlyOnTerminals checks that progress is never written
// where it would end up in a log or a pipe, and that -q is accepted.
func TestScanProgressOnlyOnTerminals(t *testing.T) {
	if p := startProgress(&bytes.Buffer{}, false); p != nil {
		t.Error("progress on a buffer")
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	if p := startProgress(devNull, false); p != nil {
		t.Error("progress on a file that is not a terminal")
	}
	var p *scanProgress // the methods of a disabled progress do nothing
	p.show(nil)
	p.stop()

	dir := t.TempDir()
	file := writeFile(t, dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: v}\n")
	for _, args := range [][]string{{"scan", "-q", file}, {"scan", "--quiet", "-o", "json", filepath.Join(dir)}} {
		_, stderr, code := run(t, "", args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
