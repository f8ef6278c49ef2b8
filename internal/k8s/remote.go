package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// ErrRemoteDisabled marks an input that needs the network (or the git
// program) while LoadOptions.AllowRemote is not set.
var ErrRemoteDisabled = errors.New("remote bases and resources are fetched only with --allow-remote")

// RemoteRefError is a remote reference kustomize would fetch, found in a
// kustomization (or a builtin plugin configuration) while remote references
// are not allowed.
type RemoteRefError struct {
	File string // the kustomization file that holds the reference
	Ref  string // the reference as written
}

func (e *RemoteRefError) Error() string {
	return fmt.Sprintf("%s references remote %q: %v", e.File, e.Ref, ErrRemoteDisabled)
}

func (e *RemoteRefError) Unwrap() error { return ErrRemoteDisabled }

// Fields of a kustomization that name files, folders or repositories
// kustomize loads: lists of references, and lists of objects (or one object)
// with a path.
var (
	kustomizationRefLists = []string{
		"resources", "bases", "components", "crds", "configurations",
		"generators", "transformers", "validators", "patchesStrategicMerge",
	}
	kustomizationPathObjects = []string{"patches", "patchesJson6902", "replacements", "openapi"}
	kustomizationGenerators  = []string{"configMapGenerator", "secretGenerator"}
)

// remoteRef returns the first remote reference in data, the content of a
// file kustomize reads from folder dir: a kustomization file when
// kustomization is set, otherwise possibly the configuration of a builtin
// plugin (apiVersion: builtin) listed under generators or transformers.
// Other files, such as resources, hold no references. "" means none.
func remoteRef(dir string, data []byte, kustomization bool) string {
	if kustomization {
		var k map[string]any
		if yaml.Unmarshal(data, &k) != nil {
			return "" // kustomize reports the syntax error
		}
		return kustomizationRemoteRef(dir, k)
	}
	if !bytes.Contains(data, []byte("builtin")) {
		return ""
	}
	for _, doc := range SplitDocuments(data) {
		var p map[string]any
		if yaml.Unmarshal(doc.Text, &p) == nil && p["apiVersion"] == "builtin" {
			if ref := pluginRemoteRef(dir, p); ref != "" {
				return ref
			}
		}
	}
	return ""
}

func kustomizationRemoteRef(dir string, k map[string]any) string {
	for _, field := range kustomizationRefLists {
		for _, v := range anyList(k[field]) {
			s, _ := v.(string)
			if strings.Contains(s, "\n") {
				// An inline plugin configuration (generators,
				// transformers, validators) or an inline patch.
				if ref := remoteRef(dir, []byte(s), false); ref != "" {
					return ref
				}
				continue
			}
			if isRemoteRef(dir, s) {
				return s
			}
		}
	}
	for _, field := range kustomizationPathObjects {
		for _, v := range anyList(k[field]) {
			if ref := pathRemoteRef(dir, v); ref != "" {
				return ref
			}
		}
	}
	for _, field := range kustomizationGenerators {
		for _, v := range anyList(k[field]) {
			if ref := generatorRemoteRef(dir, v); ref != "" {
				return ref
			}
		}
	}
	return ""
}

// pluginRemoteRef checks the fields through which builtin plugins load
// files: path and paths (patches), files, envs and env (generators),
// targetFilePath, and replacements' paths.
func pluginRemoteRef(dir string, p map[string]any) string {
	if ref := pathRemoteRef(dir, p); ref != "" {
		return ref
	}
	if s, _ := p["targetFilePath"].(string); isRemoteRef(dir, s) {
		return s
	}
	for _, v := range anyList(p["paths"]) {
		if s, _ := v.(string); isRemoteRef(dir, s) {
			return s
		}
	}
	for _, v := range anyList(p["replacements"]) {
		if ref := pathRemoteRef(dir, v); ref != "" {
			return ref
		}
	}
	return generatorRemoteRef(dir, p)
}

// pathRemoteRef checks the path of an object such as a patch.
func pathRemoteRef(dir string, v any) string {
	m, _ := v.(map[string]any)
	if s, _ := m["path"].(string); isRemoteRef(dir, s) {
		return s
	}
	return ""
}

// generatorRemoteRef checks the files (key=path or path), envs and env of a
// ConfigMap or Secret generator.
func generatorRemoteRef(dir string, v any) string {
	m, _ := v.(map[string]any)
	var refs []any
	refs = append(refs, anyList(m["files"])...)
	refs = append(refs, anyList(m["envs"])...)
	refs = append(refs, m["env"])
	for _, r := range refs {
		s, _ := r.(string)
		if k, path, ok := strings.Cut(s, "="); ok && !strings.Contains(k, "/") {
			s = path
		}
		if isRemoteRef(dir, s) {
			return s
		}
	}
	return ""
}

// anyList returns v as a list: itself if it is one, a one-element list for
// an object, and nothing otherwise.
func anyList(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case map[string]any:
		return []any{v}
	}
	return nil
}

// scpLike matches git's scp-like syntax, user@host:path.
var scpLike = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@[^/:@]+[:/]`)

// isRemoteRef reports whether kustomize would fetch ref from the network or
// clone it with git: an http(s) URL, any other URL (ssh://, file://, a
// git:: prefix), or a repository in one of the short forms kustomize
// accepts (github.com/org/repo, user@host:org/repo). A short form that
// names a regular file in dir is local: kustomize reads such a file before
// trying git.
func isRemoteRef(dir, ref string) bool {
	r := strings.TrimSpace(ref)
	l := strings.ToLower(r)
	switch {
	case r == "":
		return false
	case strings.HasPrefix(l, "git::"), strings.Contains(l, "://"):
		return true
	case strings.HasPrefix(l, "github.com/"), strings.HasPrefix(l, "github.com:"), scpLike.MatchString(r):
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r)))
		return err != nil || !fi.Mode().IsRegular()
	}
	return false
}
