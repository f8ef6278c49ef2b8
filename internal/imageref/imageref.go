package imageref

import "strings"

// DockerHub is the registry of references that name none.
const DockerHub = "docker.io"

// Reference is a parsed container image reference.
type Reference struct {
	// Registry is the lower-cased registry host, with its port if the
	// reference gives one; DockerHub when the reference names none (or
	// names index.docker.io or registry-1.docker.io).
	Registry string
	// Repository is the path inside the registry, as written; library/ is
	// added to single-name Docker Hub images (nginx → library/nginx).
	Repository string
	// Tag is what follows the last ':' of the last path component, without
	// the ':'; "" when absent.
	Tag string
	// Digest is what follows the first '@', such as "sha256:ab…"; "" when
	// absent.
	Digest string
}

// Parse splits an image reference as container runtimes read it:
//
//   - a digest follows the first '@';
//   - a tag follows the last ':' of the last path component (so the port
//     of localhost:5000/app is not a tag);
//   - the first path component is a registry host when it contains '.' or
//     ':' or is localhost; otherwise the registry is docker.io;
//   - the registry is lower-cased (ASCII only), and index.docker.io and
//     registry-1.docker.io are read as docker.io;
//   - a Docker Hub repository without '/' gets the library/ prefix.
//
// Parse does not validate. Malformed input still gives a Reference, the
// one the CEL variable imageRefs gives (for example "repo:tag:odd" is
// repository library/repo:tag with tag odd); an upper-case repository is
// kept as written.
func Parse(image string) Reference {
	var ref Reference
	name := image
	if i := strings.IndexByte(image, '@'); i >= 0 {
		name, ref.Digest = image[:i], image[i+1:]
	}
	last := name[strings.LastIndexByte(name, '/')+1:]
	if strings.Contains(last, ":") {
		i := strings.LastIndexByte(name, ':')
		ref.Tag, name = name[i+1:], name[:i]
	}
	host := ""
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			host = first
		}
	}
	lower := asciiLower(host)
	switch {
	case host == "" || lower == "index.docker.io" || lower == "registry-1.docker.io":
		ref.Registry = DockerHub
	default:
		ref.Registry = lower
	}
	path := name
	if host != "" {
		path = name[len(host)+1:]
	}
	if ref.Registry == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	ref.Repository = path
	return ref
}

// Name returns registry/repository, such as docker.io/library/nginx: the
// image without tag or digest.
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String returns the reference in full, such as
// docker.io/library/nginx:1.27 or ghcr.io/org/app@sha256:ab…: Name, then
// ":tag" and "@digest" when present.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// asciiLower lower-cases ASCII letters only, as CEL's lowerAscii does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
