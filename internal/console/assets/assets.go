// Package assets embeds the web console's compiled front end (built from
// web/console with `make console`; the build is committed so that a plain
// `go build` needs no Node).
package assets

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// FS returns the compiled front end: index.html and assets/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}
