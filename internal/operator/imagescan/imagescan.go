// Package imagescan rescans the images running in the cluster when the
// vulnerability database changes (or the set of running images does).
// Inventories come from the per-layer-set cache of internal/image/cluster,
// so a database update re-matches the packages already listed without
// pulling or extracting a layer again; only new images are pulled.
package imagescan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/source"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Rescanner checks whether a rescan is due and runs it. Cycles must not
// run concurrently.
type Rescanner struct {
	Client kubernetes.Interface
	// DBDir is the vulnerability database folder (kordon db update writes
	// it; *.json and *.zip at any depth).
	DBDir     string
	Cache     cluster.Cache
	Catalogue *rules.Catalogue
	Source    source.Options
	Logger    *slog.Logger

	last string
}

// Result is what one cycle did.
type Result struct {
	// Skipped is set when neither the database nor the running images
	// changed since the last rescan.
	Skipped bool
	// Images scanned, and how many of them came from the inventory cache.
	Images, Cached int
	Findings       []finding.Finding
	// Errors name the image or database file that failed; the other
	// images were still scanned.
	Errors []finding.Problem
}

// Cycle rescans when the database or the running images changed.
func (r *Rescanner) Cycle(ctx context.Context) (Result, error) {
	var res Result
	dbPrint, err := fingerprint(r.DBDir)
	if err != nil {
		return res, err
	}
	images, warnings, err := cluster.Running(ctx, r.Client, "")
	if err != nil {
		return res, err
	}
	for _, w := range warnings {
		res.Errors = append(res.Errors, finding.Problem{Message: w})
	}
	refs := make([]string, len(images))
	for i, im := range images {
		refs[i] = im.Ref
	}
	state := dbPrint + "|" + strings.Join(refs, ",")
	if state == r.last {
		res.Skipped = true
		return res, nil
	}
	db, err := osv.Load(r.DBDir)
	if err != nil {
		return res, fmt.Errorf("vulnerability database: %w", err)
	}
	for _, e := range db.Errors {
		res.Errors = append(res.Errors, finding.Problem{File: r.DBDir, Message: e.Error()})
	}
	vr, ok := r.Catalogue.Lookup(findings.VulnRuleID)
	if !ok {
		return res, fmt.Errorf("rule %s is not in the catalogue", findings.VulnRuleID)
	}
	for _, im := range images {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		scanned, cached, err := r.scan(ctx, im, db)
		if err != nil {
			res.Errors = append(res.Errors, finding.Problem{File: im.Ref, Message: err.Error()})
			continue
		}
		res.Images++
		if cached {
			res.Cached++
		}
		for _, e := range scanned.Errors {
			res.Errors = append(res.Errors, finding.Problem{File: im.Ref, Message: e.Error()})
		}
		vf := findings.ToFindings(scanned.Vulns, vr.Title, vr.Controls, findings.Options{})
		res.Findings = append(res.Findings, WorkloadFindings(im, vf)...)
	}
	// Remember the state only when every image was scanned, so that a
	// failed pull is retried next cycle.
	if !slices.ContainsFunc(res.Errors, func(p finding.Problem) bool { return p.File != "" && p.File != r.DBDir }) {
		r.last = state
	}
	return res, nil
}

// WorkloadFindings repeats an image's vulnerability findings for each
// workload that runs it: the resource is the workload and the message
// starts with "image REF: " (the web console reads the image from it).
func WorkloadFindings(im cluster.Image, vf []finding.Finding) []finding.Finding {
	out := make([]finding.Finding, 0, len(im.Workloads)*len(vf))
	for _, w := range im.Workloads {
		for _, f := range vf {
			f.Message = fmt.Sprintf("image %s: %s", im.Ref, f.Message)
			f.Resource = finding.Resource{APIVersion: apiVersionOf(w.Kind), Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
			out = append(out, f)
		}
	}
	return out
}

func (r *Rescanner) scan(ctx context.Context, im cluster.Image, db *osv.DB) (*image.Result, bool, error) {
	src, err := source.Open(ctx, im.Ref, r.Source)
	if err != nil {
		return nil, false, err
	}
	defer src.Close()
	return cluster.Scan(ctx, src.Image, r.Cache, image.Options{DB: db})
}

// fingerprint identifies the database folder's content by its files'
// names, sizes and modification times (kordon db update replaces whole
// files).
func fingerprint(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".zip")) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("vulnerability database %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func apiVersionOf(kind string) string {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return "apps/v1"
	case "Job", "CronJob":
		return "batch/v1"
	}
	return "v1"
}
