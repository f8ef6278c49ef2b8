package imageref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		image string
		want  Reference
	}{
		// Docker Hub defaulting.
		{"nginx", Reference{"docker.io", "library/nginx", "", ""}},
		{"nginx:1.27", Reference{"docker.io", "library/nginx", "1.27", ""}},
		{"bitnami/redis:7", Reference{"docker.io", "bitnami/redis", "7", ""}},
		{"docker.io/nginx", Reference{"docker.io", "library/nginx", "", ""}},
		{"index.docker.io/nginx", Reference{"docker.io", "library/nginx", "", ""}},
		{"registry-1.docker.io/bitnami/redis", Reference{"docker.io", "bitnami/redis", "", ""}},
		{"Index.Docker.IO/nginx", Reference{"docker.io", "library/nginx", "", ""}},
		// Registries, with and without ports.
		{"ghcr.io/org/sub/app:1.0", Reference{"ghcr.io", "org/sub/app", "1.0", ""}},
		{"localhost/app", Reference{"localhost", "app", "", ""}},
		{"localhost:5000/x", Reference{"localhost:5000", "x", "", ""}},
		{"localhost:5000/team/x:dev", Reference{"localhost:5000", "team/x", "dev", ""}},
		{"Registry.Example.com:5000/app:v1", Reference{"registry.example.com:5000", "app", "v1", ""}},
		{"10.0.0.1:5000/app", Reference{"10.0.0.1:5000", "app", "", ""}},
		// Digests, alone and after a tag.
		{"ghcr.io/org/app@sha256:ab", Reference{"ghcr.io", "org/app", "", "sha256:ab"}},
		{"library/busybox@sha256:1234", Reference{"docker.io", "library/busybox", "", "sha256:1234"}},
		{"nginx:1.27@sha256:abc", Reference{"docker.io", "library/nginx", "1.27", "sha256:abc"}},
		{"localhost:5000/x:dev@sha256:abc", Reference{"localhost:5000", "x", "dev", "sha256:abc"}},
		// Upper case: only the registry is lower-cased.
		{"Team/App:V1", Reference{"docker.io", "Team/App", "V1", ""}},
		{"NGINX", Reference{"docker.io", "library/NGINX", "", ""}},
		// Malformed input is read, not rejected, as the CEL prelude does.
		{"repo:tag:odd", Reference{"docker.io", "library/repo:tag", "odd", ""}},
		{"host.io/app@", Reference{"host.io", "app", "", ""}},
		{"a@b@c", Reference{"docker.io", "library/a", "", "b@c"}},
		{"localhost:5000", Reference{"docker.io", "library/localhost", "5000", ""}},
		{"nginx:", Reference{"docker.io", "library/nginx", "", ""}},
		{"ghcr.io/", Reference{"ghcr.io", "", "", ""}},
		{"@sha256:ab", Reference{"docker.io", "library/", "", "sha256:ab"}},
		{"ünicode/app", Reference{"docker.io", "ünicode/app", "", ""}},
		{"", Reference{"docker.io", "library/", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := Parse(tt.image); got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.image, got, tt.want)
			}
		})
	}
}

func TestReferenceString(t *testing.T) {
	tests := []struct {
		image, name, full string
	}{
		{"nginx", "docker.io/library/nginx", "docker.io/library/nginx"},
		{"nginx:1.27", "docker.io/library/nginx", "docker.io/library/nginx:1.27"},
		{"localhost:5000/x@sha256:ab", "localhost:5000/x", "localhost:5000/x@sha256:ab"},
		{"GHCR.io/org/app:1@sha256:ab", "ghcr.io/org/app", "ghcr.io/org/app:1@sha256:ab"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			ref := Parse(tt.image)
			if got := ref.Name(); got != tt.name {
				t.Errorf("Name() = %q, want %q", got, tt.name)
			}
			if got := ref.String(); got != tt.full {
				t.Errorf("String() = %q, want %q", got, tt.full)
			}
		})
	}
}

// FuzzParse checks that Parse accepts any input and that the full form it
// gives reads back as the same reference.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"nginx", "localhost:5000/x:dev@sha256:ab", "Registry.Example.com/App", "repo:tag:odd", "a@b@c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, image string) {
		ref := Parse(image)
		if ref.Registry != asciiLower(ref.Registry) {
			t.Errorf("Parse(%q).Registry = %q, not lower case", image, ref.Registry)
		}
		last := ref.Repository[strings.LastIndexByte(ref.Repository, '/')+1:]
		if ref.Tag == "" && strings.Contains(last, ":") {
			return // "repo:a:" has an empty tag that String cannot write
		}
		if again := Parse(ref.String()); again != ref {
			t.Errorf("Parse(%q) = %+v, but Parse(%q) = %+v", image, ref, ref.String(), again)
		}
	})
}
