package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// TestConformance runs the store conformance suite on a fresh database
// file per case.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kordon.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
