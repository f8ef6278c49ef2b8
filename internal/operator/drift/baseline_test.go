package drift

import (
	"errors"
	"testing"
)

func TestGitPathMayNotLeaveTheRepository(t *testing.T) {
	for _, p := range []string{"..", "../etc", "prod/../../x"} {
		_, _, err := Git{URL: "file:///nonexistent", Path: p}.Load(t.Context())
		if !errors.Is(err, ErrPathEscapes) {
			t.Errorf("path %q: error %v, want ErrPathEscapes", p, err)
		}
	}
	// A missing repository is an error naming it, not a panic or a hang.
	_, _, err := Git{URL: "file:///nonexistent/repo", Path: "prod"}.Load(t.Context())
	if err == nil {
		t.Error("cloning a missing repository succeeded")
	}
}
