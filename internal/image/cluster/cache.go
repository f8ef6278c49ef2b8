package cluster

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/secrets"
)

// Cache keeps image inventories on disk, keyed by the image's layers
// (their diff IDs, in order): an image whose layers were inventoried
// before is not downloaded again, and a database update only re-matches.
// Entries are JSON files; a corrupt one is ignored and rewritten.
type Cache struct {
	Dir string
}

// Entry is a cached inventory.
type Entry struct {
	Layers    []string            `json:"layers"`
	OSID      string              `json:"osID,omitempty"`
	OSVersion string              `json:"osVersion,omitempty"`
	Packages  []inventory.Package `json:"packages"`
	Secrets   []secrets.Find      `json:"secrets"`
	// Secrets are only valid when SecretsScanned.
	SecretsScanned bool `json:"secretsScanned"`
}

// Key is the cache key of a layer list.
func Key(layers []string) string {
	sum := sha256.Sum256([]byte(strings.Join(layers, "\n")))
	return fmt.Sprintf("%x", sum)
}

func (c Cache) file(layers []string) string { return filepath.Join(c.Dir, Key(layers)+".json") }

// Get returns the entry for layers, if cached.
func (c Cache) Get(layers []string) (*Entry, bool) {
	if c.Dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.file(layers))
	if err != nil {
		return nil, false
	}
	var e Entry
	if json.Unmarshal(b, &e) != nil || strings.Join(e.Layers, "\n") != strings.Join(layers, "\n") {
		return nil, false
	}
	return &e, true
}

// Put stores an entry (atomically: a temporary file renamed).
func (c Cache) Put(e *Entry) error {
	if c.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".entry-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.file(e.Layers))
}
