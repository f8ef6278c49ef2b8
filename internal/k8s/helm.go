package k8s

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
)

// HelmOptions configures chart rendering, like helm template's flags.
type HelmOptions struct {
	ReleaseName string   // default "release"
	Namespace   string   // default "default"
	ValuesFiles []string // --values
	Set         []string // --set key=value
	SetString   []string // --set-string key=value
	KubeVersion string   // default the version Kordon targets
}

// DefaultKubeVersion is the Kubernetes version charts are rendered for when
// HelmOptions.KubeVersion is empty.
const DefaultKubeVersion = "v1.36.0"

// RenderChart renders a Helm chart (folder or .tgz) without a cluster, as
// helm template does, including hook manifests. Objects carry the chart
// template they came from as Source.File. A chart that fails to render is
// a returned error.
func RenderChart(ctx context.Context, path string, opts HelmOptions) ([]*Object, []*InputError, error) {
	chrt, err := loader.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load chart %s: %w", path, err)
	}
	// As helm template does: a dependency missing from charts/ is an error,
	// not a subchart silently left out of the scan.
	if deps := chrt.Metadata.Dependencies; len(deps) > 0 {
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return nil, nil, fmt.Errorf("chart %s: %w (run helm dependency build)", path, err)
		}
	}
	valueOpts := values.Options{ValueFiles: opts.ValuesFiles, Values: opts.Set, StringValues: opts.SetString}
	vals, err := valueOpts.MergeValues(getter.All(cli.New()))
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s values: %w", path, err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = defaultString(opts.ReleaseName, "release")
	install.Namespace = defaultString(opts.Namespace, "default")
	kv, err := chartutil.ParseKubeVersion(defaultString(opts.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: kube version: %w", path, err)
	}
	install.KubeVersion = kv
	rel, err := install.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, nil, fmt.Errorf("render chart %s: %w", path, err)
	}
	manifest := rel.Manifest
	for _, h := range rel.Hooks {
		manifest += "\n---\n# Source: " + h.Path + "\n" + h.Manifest + "\n"
	}
	objs, errs := decodeRendered(manifest, path)
	return objs, errs, nil
}

var sourceComment = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// decodeRendered decodes helm's rendered output, attributing each document to
// the template named in its "# Source:" comment, as a path below the chart:
// "chart/templates/x.yaml" for a folder, "chart.tgz/templates/x.yaml" for an
// archive.
func decodeRendered(manifest, chartPath string) ([]*Object, []*InputError) {
	var objs []*Object
	var errs []*InputError
	for _, doc := range splitDocuments([]byte(manifest)) {
		file := chartPath
		if m := sourceComment.FindSubmatch(doc.text); m != nil {
			// "mychart/templates/x.yaml": drop the chart name, keep the path inside.
			rel := string(m[1])
			if i := strings.IndexByte(rel, '/'); i >= 0 {
				rel = rel[i+1:]
			}
			file = filepath.Join(chartPath, filepath.FromSlash(rel))
		}
		doc.startLine = 0 // lines of rendered output are not lines of any file
		o, e := decodeDocument(doc, file)
		for _, obj := range o {
			obj.Source.Line = 0
		}
		for _, ie := range e {
			ie.Line = 0
		}
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return objs, errs
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
