package drift

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// Baseline loads the desired objects.
type Baseline interface {
	// Load returns the baseline's objects and a revision that names what
	// was read (a commit hash, a folder path).
	Load(ctx context.Context) (*k8s.Loaded, string, error)
}

// Folder is a baseline in a local folder (manifests, Helm charts and
// kustomizations, loaded like kordon scan loads them: nothing remote).
type Folder struct {
	Path    string
	Options k8s.LoadOptions
}

// Load reads the folder.
func (f Folder) Load(ctx context.Context) (*k8s.Loaded, string, error) {
	l, err := k8s.LoadPaths(ctx, []string{f.Path}, f.Options)
	if err != nil {
		return nil, "", fmt.Errorf("baseline %s: %w", f.Path, err)
	}
	return l, f.Path, nil
}

// Git is a baseline in a Git repository: a branch (default: the remote's
// HEAD) and a path inside it (default: the whole tree). Each Load makes a
// shallow clone of the branch into a temporary folder, loads the path like
// Folder and removes the clone. No git program runs.
type Git struct {
	URL     string
	Branch  string
	Path    string
	Options k8s.LoadOptions
}

// ErrPathEscapes is returned for a baseline path that leaves the
// repository.
var ErrPathEscapes = errors.New("path leaves the repository")

// Load clones and reads the repository.
func (g Git) Load(ctx context.Context) (*k8s.Loaded, string, error) {
	rel := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(g.Path, "/")))
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", fmt.Errorf("baseline %s path %q: %w", g.URL, g.Path, ErrPathEscapes)
	}
	dir, err := os.MkdirTemp("", "kordon-baseline-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	opts := &git.CloneOptions{URL: g.URL, Depth: 1, SingleBranch: true, Tags: git.NoTags}
	if g.Branch != "" {
		opts.ReferenceName = plumbing.NewBranchReferenceName(g.Branch)
	}
	repo, err := git.PlainCloneContext(ctx, dir, false, opts)
	if err != nil {
		return nil, "", fmt.Errorf("baseline %s: clone: %w", g.URL, err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, "", fmt.Errorf("baseline %s: %w", g.URL, err)
	}
	root := filepath.Join(dir, rel)
	l, err := k8s.LoadPaths(ctx, []string{root}, g.Options)
	if err != nil {
		return nil, "", fmt.Errorf("baseline %s path %q: %w", g.URL, g.Path, err)
	}
	// Name files by their place in the repository, not the temporary clone.
	for _, o := range l.Objects {
		o.Source.File = g.sourceName(dir, o.Source.File)
	}
	for _, e := range l.Errors {
		e.File = g.sourceName(dir, e.File)
	}
	for _, w := range l.Warnings {
		w.File = g.sourceName(dir, w.File)
	}
	return l, head.Hash().String(), nil
}

func (g Git) sourceName(dir, file string) string {
	if r, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(r, "..") {
		return g.URL + "//" + filepath.ToSlash(r)
	}
	return file
}
