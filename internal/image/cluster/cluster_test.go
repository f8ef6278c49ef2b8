package cluster

import (
	"strings"
	"testing"
)

func TestPullRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, c := range []struct {
		id, want string
		ok       bool
	}{
		{"docker-pullable://nginx@" + d, "nginx@" + d, true},
		{"docker.io/library/nginx@" + d, "docker.io/library/nginx@" + d, true},
		{"ghcr.io/org/app@" + d, "ghcr.io/org/app@" + d, true},
		{d, "", false},                       // a config digest only
		{"nginx@sha256:abc", "", false},      // truncated
		{"", "", false},                      // pending
		{"nginx@sha512:" + d[7:], "", false}, // not sha256
	} {
		got, _, ok := PullRef(c.id, "")
		if got != c.want || ok != c.ok {
			t.Errorf("PullRef(%q) = %q, %v; want %q, %v", c.id, got, ok, c.want, c.ok)
		}
	}
}
