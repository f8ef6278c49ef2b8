package k8s

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// buildKustomizations builds the kustomizations met while walking the
// arguments. A kustomization that another one of the input uses as a base
// or component (through resources, bases or components, at any depth) is
// not a unit of its own: it is rendered through its overlays, so that a
// base and its overlay do not report the same findings twice. Which
// overlays render it is logged once at info level. With opts.OneCluster
// every kustomization is built.
func (l *Loaded) buildKustomizations(ctx context.Context, opts LoadOptions) error {
	var dirs []string
	for _, p := range l.parts {
		if p.kdir != "" {
			dirs = append(dirs, p.kdir)
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	var through map[string][]string
	if !opts.OneCluster && len(dirs) > 1 {
		through = kustomizationBases(dirs, maxFileSize(opts.MaxFileSize))
	}
	for i := range l.parts {
		p := &l.parts[i]
		if p.kdir == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := p.kdir
		p.kdir = ""
		if overlays := through[dir]; len(overlays) > 0 {
			slog.InfoContext(ctx, "kustomization is a base of other kustomizations of the input and judged through them, not on its own",
				"kustomization", dir, "overlays", strings.Join(overlays, ", "))
			p.unit = nil
			continue
		}
		p.objs, p.errs = buildKustomization(ctx, dir, opts)
		if k, ok := readKustomization(dir, maxFileSize(opts.MaxFileSize)); ok && k.Namespace != "" {
			// kustomize gives its namespace to every namespaced object.
			p.unit.Namespace, p.unit.NamespaceFrom = k.Namespace, ""
		}
	}
	return nil
}

// kustomizationBases returns, for each of dirs that another of dirs uses
// (at any depth) as a base or component, the overlays among dirs that
// render it. A kustomization is left out only when an overlay that is not
// itself a base renders it, so a cycle (which kustomize rejects) still
// builds and reports its error.
func kustomizationBases(dirs []string, limit int64) map[string][]string {
	key := map[string]string{} // resolved folder → the dir as given
	for _, d := range dirs {
		if k, ok := resolvedDir(d); ok {
			if _, dup := key[k]; !dup {
				key[k] = d
			}
		}
	}
	refs := map[string][]string{} // resolved folder → resolved local kustomizations it uses
	refsOf := func(k string) []string {
		r, ok := refs[k]
		if !ok {
			r = localKustomizationRefs(k, limit)
			refs[k] = r
		}
		return r
	}
	// reach returns every kustomization k renders, transitively.
	reach := func(k string) map[string]bool {
		seen := map[string]bool{}
		stack := []string{k}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, r := range refsOf(n) {
				if !seen[r] && r != k {
					seen[r] = true
					stack = append(stack, r)
				}
			}
		}
		return seen
	}
	reached := map[string]map[string]bool{}
	isBase := map[string]bool{}
	for k := range key {
		reached[k] = reach(k)
		for r := range reached[k] {
			isBase[r] = true
		}
	}
	out := map[string][]string{}
	for k, d := range key {
		if isBase[k] {
			continue // a root overlay names its bases
		}
		for r := range reached[k] {
			if base, ok := key[r]; ok {
				out[base] = append(out[base], d)
			}
		}
	}
	for _, o := range out {
		slices.Sort(o)
	}
	return out
}

// localKustomizationRefs returns the local kustomization folders (resolved)
// that the kustomization in folder dir (resolved) names under resources,
// bases and components. Remote references and files are left out, and so
// is anything in a kustomization file that cannot be read.
func localKustomizationRefs(dir string, limit int64) []string {
	k, ok := readKustomization(dir, limit)
	if !ok {
		return nil
	}
	var out []string
	for _, list := range [][]any{k.Resources, k.Bases, k.Components} {
		for _, v := range list {
			s, _ := v.(string)
			if s == "" || strings.Contains(s, "://") || strings.Contains(s, "\n") {
				continue
			}
			p := s
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, filepath.FromSlash(s))
			}
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() || !IsKustomizeDir(p) {
				continue
			}
			if r, ok := resolvedDir(p); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// resolvedDir returns dir as an absolute path with symbolic links resolved.
func resolvedDir(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	r, err := filepath.EvalSymlinks(abs)
	return r, err == nil
}

// kustomizationFields are the fields of a kustomization file that decide
// its units: the folders it renders and its namespace.
type kustomizationFields struct {
	Namespace  string `json:"namespace"`
	Resources  []any  `json:"resources"`
	Bases      []any  `json:"bases"`
	Components []any  `json:"components"`
}

// readKustomization reads the kustomization file of folder dir; false when
// there is none or it cannot be read or parsed (kustomize then reports why).
func readKustomization(dir string, limit int64) (kustomizationFields, bool) {
	var k kustomizationFields
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if data, err := readRegular(filepath.Join(dir, n), limit); err == nil {
			return k, yaml.Unmarshal(data, &k) == nil
		}
	}
	return k, false
}
