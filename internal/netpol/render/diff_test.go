package render

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/diff"
)

func TestDiffGolden(t *testing.T) {
	changes := diff.Diff(load(t, "old.yaml"), load(t, "new.yaml"))
	for _, format := range DiffFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteDiff(&buf, format, changes); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "diff."+format), buf.Bytes())
		})
	}
}

func TestDiffEmpty(t *testing.T) {
	tests := []struct{ format, want string }{
		{"txt", "no change in connectivity\n"},
		{"json", "[]\n"},
		{"md", "| Change | Source | Destination | Before | After |\n| --- | --- | --- | --- | --- |\n\n0 added, 0 removed, 0 changed.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteDiff(&buf, tt.format, nil); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if err := WriteDiff(&bytes.Buffer{}, "csv", nil); err == nil {
		t.Error("unknown format accepted")
	}
}
