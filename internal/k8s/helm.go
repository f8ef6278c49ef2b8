package k8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/release"
)

// HelmOptions configures chart rendering, like helm template's flags, and
// the budget each chart has.
type HelmOptions struct {
	ReleaseName string   // default "release"
	Namespace   string   // default "default"
	ValuesFiles []string // --values
	Set         []string // --set key=value
	SetString   []string // --set-string key=value
	KubeVersion string   // default the version Kordon targets

	// Timeout is how long one chart may take to render; 0 means
	// DefaultHelmTimeout.
	Timeout time.Duration
	// MaxOutput is how many bytes of manifests one chart may render; 0
	// means DefaultHelmMaxOutput.
	MaxOutput int64
}

// DefaultKubeVersion is the Kubernetes version charts are rendered for when
// HelmOptions.KubeVersion is empty.
const DefaultKubeVersion = "v1.36.0"

// Budgets of one chart when HelmOptions leaves them 0. Real charts render
// in well under a second and to a few MiB, the largest (CRDs included) to
// tens of MiB.
const (
	DefaultHelmTimeout   = 30 * time.Second
	DefaultHelmMaxOutput = 64 << 20
)

// ErrRenderTimeout marks a chart that was still rendering when its time
// budget (HelmOptions.Timeout) ran out.
var ErrRenderTimeout = errors.New("the time budget per chart ran out (--helm-timeout)")

// ErrRenderTooLarge marks a chart whose rendered manifests are larger than
// its size budget (HelmOptions.MaxOutput).
var ErrRenderTooLarge = errors.New("the rendered manifests are larger than the size budget per chart (--helm-max-output)")

// RenderChart renders a Helm chart (folder or .tgz) without a cluster, as
// helm template does, including hook manifests. Objects carry the chart
// template they came from as Source.File. A chart that fails to render is
// a returned *InputError naming the chart; so is a chart whose rendering
// takes longer than opts.Timeout (wrapping ErrRenderTimeout) or renders
// more than opts.MaxOutput bytes (ErrRenderTooLarge).
//
// Rendering uses neither the network nor a subprocess; values files are
// local files. It returns when ctx is done, with ctx's error. Go cannot
// interrupt a template: a render given up on (ctx done, or out of time)
// keeps running in the background until it ends or the process exits.
func RenderChart(ctx context.Context, path string, opts HelmOptions) ([]*Object, []*InputError, error) {
	objs, errs, err := renderChartFile(ctx, path, LoadOptions{Helm: opts})
	if err != nil {
		return nil, nil, &InputError{File: path, Err: err}
	}
	return objs, errs, nil
}

// renderChart is RenderChart for LoadPaths: the chart's failure is one of
// its input errors.
func renderChart(ctx context.Context, path string, opts LoadOptions) ([]*Object, []*InputError) {
	objs, errs, err := renderChartFile(ctx, path, opts)
	if err != nil {
		return nil, []*InputError{{File: path, Err: err}}
	}
	return objs, errs
}

func renderChartFile(ctx context.Context, path string, opts LoadOptions) ([]*Object, []*InputError, error) {
	slog.DebugContext(ctx, "render chart", "path", path)
	chrt, err := loadChart(ctx, path, maxFileSize(opts.MaxFileSize))
	if err != nil {
		return nil, nil, fmt.Errorf("load chart: %w", err)
	}
	// As helm template does: a dependency missing from charts/ is an error,
	// not a subchart silently left out of the scan.
	if deps := chrt.Metadata.Dependencies; len(deps) > 0 {
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return nil, nil, fmt.Errorf("chart dependencies: %w (run helm dependency build)", err)
		}
	}
	vals, err := chartValues(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("values: %w", err)
	}
	h := opts.Helm
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = defaultString(h.ReleaseName, "release")
	install.Namespace = defaultString(h.Namespace, "default")
	kv, err := chartutil.ParseKubeVersion(defaultString(h.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return nil, nil, fmt.Errorf("kube version: %w", err)
	}
	install.KubeVersion = kv
	rel, err := renderBudgeted(ctx, install, chrt, vals, h.Timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("render chart: %w", err)
	}
	size := int64(len(rel.Manifest))
	for _, hook := range rel.Hooks {
		size += int64(len(hook.Manifest))
	}
	if limit := defaultInt64(h.MaxOutput, DefaultHelmMaxOutput); size > limit {
		return nil, nil, fmt.Errorf("render chart: %w: %d bytes, budget %s", ErrRenderTooLarge, size, formatSize(limit))
	}
	var manifest strings.Builder
	manifest.WriteString(rel.Manifest)
	for _, hook := range rel.Hooks {
		manifest.WriteString("\n---\n# Source: " + hook.Path + "\n" + hook.Manifest + "\n")
	}
	objs, errs := decodeRendered(manifest.String(), path)
	return objs, errs, nil
}

// renderBudgeted runs the install (a dry run) within timeout, and returns
// when ctx is done. Helm's template engine takes no context, so the render
// runs in its own goroutine, which is abandoned when time runs out.
func renderBudgeted(ctx context.Context, install *action.Install, chrt *chart.Chart, vals map[string]any, timeout time.Duration) (*release.Release, error) {
	type result struct {
		rel *release.Release
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("panic: %v", r)}
			}
		}()
		rel, err := install.RunWithContext(ctx, chrt, vals)
		done <- result{rel, err}
	}()
	if timeout <= 0 {
		timeout = DefaultHelmTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.rel, r.err
	case <-timer.C:
		return nil, fmt.Errorf("stopped after %s: %w", timeout, ErrRenderTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// chartValues merges the values files and --set values as helm does. Values
// files are read as input files are (regular, at most MaxFileSize); a URL
// is fetched with Helm's getters only with AllowRemote.
func chartValues(opts LoadOptions) (map[string]any, error) {
	providers := getter.Providers{}
	for _, f := range opts.Helm.ValuesFiles {
		if isURL(f) {
			if !opts.AllowRemote {
				return nil, fmt.Errorf("%s: %w", f, ErrRemoteDisabled)
			}
			providers = getter.All(cli.New())
			continue
		}
		if f == "-" {
			return nil, fmt.Errorf("values from standard input are not supported: give a file")
		}
		if _, err := readRegular(f, maxFileSize(opts.MaxFileSize)); err != nil {
			return nil, fmt.Errorf("%s: %w", f, inputFileError(err))
		}
	}
	valueOpts := values.Options{ValueFiles: opts.Helm.ValuesFiles, Values: opts.Helm.Set, StringValues: opts.Helm.SetString}
	return valueOpts.MergeValues(providers)
}

// isURL reports whether s has a URL scheme (and is not a Windows path with a
// drive letter).
func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(u.Scheme) > 1
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

func defaultInt64(n, def int64) int64 {
	if n <= 0 {
		return def
	}
	return n
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
