package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names are the file names Find looks for, in each folder.
var names = [...]string{".kordon.yaml", ".kordon.yml"}

// Names returns the file names Find looks for.
func Names() []string { return names[:] }

// Find looks for the configuration file of a command run in dir: a file
// named .kordon.yaml or .kordon.yml in dir, else in its parent, and so on
// up to the root of the git work tree dir is in (the first folder with a
// .git entry, which is searched too) or the filesystem root. It returns
// the path of the first one found, or "" when there is none. Both names in
// one folder are an error, as is a candidate that cannot be read (other
// than not existing): a configuration is never skipped in silence.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find config: %w", err)
	}
	for {
		var found []string
		for _, n := range names {
			p := filepath.Join(dir, n)
			_, err := os.Stat(p)
			switch {
			case err == nil:
				found = append(found, p)
			case !errors.Is(err, fs.ErrNotExist):
				return "", fmt.Errorf("find config: %w", err)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 2:
			return "", fmt.Errorf("find config: both %s and %s exist: keep one", found[0], found[1])
		}
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return "", nil // the root of the git work tree
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}
