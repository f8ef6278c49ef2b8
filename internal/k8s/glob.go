package k8s

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrExcluded marks a file or folder left out by an --exclude glob.
var ErrExcluded = errors.New("excluded by --exclude")

// MatchGlob reports whether a slash-separated relative path matches a glob
// in the style of doublestar: "*", "?", "[...]" and "\\" match within one
// path element as path.Match does, and an element "**" matches any number
// of elements, none included ("vendor/**" matches vendor and everything
// in it, "**/test/*.yaml" a test folder at any depth). A malformed glob
// matches nothing; checkGlobs rejects it up front.
func MatchGlob(glob, name string) bool {
	return matchElems(strings.Split(glob, "/"), strings.Split(name, "/"))
}

func matchElems(glob, name []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			rest := glob[1:]
			for i := 0; i <= len(name); i++ {
				if matchElems(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(glob[0], name[0]); err != nil || !ok {
			return false
		}
		glob, name = glob[1:], name[1:]
	}
	return len(name) == 0
}

// maxGlobStars bounds the "**" elements of a glob, whose matching time
// grows as the path length to that power.
const maxGlobStars = 4

// checkGlobs returns an error naming the first malformed glob.
func checkGlobs(globs []string) error {
	for _, g := range globs {
		if g == "" {
			return errors.New("--exclude: empty glob")
		}
		stars := 0
		for _, e := range strings.Split(g, "/") {
			if e == "**" {
				if stars++; stars > maxGlobStars {
					return fmt.Errorf("--exclude %q: more than %d ** elements", g, maxGlobStars)
				}
				continue
			}
			if _, err := path.Match(e, ""); err != nil {
				return fmt.Errorf("--exclude %q: %w", g, err)
			}
		}
	}
	return nil
}
