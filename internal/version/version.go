// Package version holds Kordon's build version and commit. `make build`
// stamps both with -ldflags:
//
//	-X github.com/kordon-dev/kordon/internal/version.Version=v1.2.3
//	-X github.com/kordon-dev/kordon/internal/version.commit=<sha>
//
// Without stamping (go build, go install module@version), they come from
// the Go build information: the module version when the binary was
// installed at a version, the VCS revision when VCS stamping was on; "dev"
// and "unknown" when neither is known.
package version

import "runtime/debug"

// Version is the release version; "dev" for local builds that are not
// stamped.
var Version = "dev"

// commit is the VCS revision when stamped at link time.
var commit = ""

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		Version = info.Main.Version
	}
	if commit == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
}

// Commit is the VCS revision, or "unknown".
func Commit() string {
	if commit == "" {
		return "unknown"
	}
	return commit
}
