// Package image scans container images: it flattens an image's layers
// (package layers), lists its packages (package inventory) and matches
// them against OSV records (packages osv and match). Scan does all three;
// callers that only need a part (an admission check reading a cached
// inventory, a cluster scan re-matching after a database update) use the
// parts directly: Inventory, then match.Match.
//
// Sub-packages: source (open references and archives), layers (flatten,
// whiteouts), inventory (osv-scalibr extractors), version (per-ecosystem
// ordering), osv (records, loading), match, cvss, secrets (hard-coded
// credentials), sbom (CycloneDX and SPDX), dbcache (osv.dev downloads).
package image

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/layers"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/image/osv"
	"github.com/kordon-dev/kordon/internal/image/secrets"
)

// Options tune a scan.
type Options struct {
	// DB is the vulnerability database; nil lists packages only.
	DB *osv.DB
	// TempDir holds the files extracted while scanning (removed after).
	TempDir string
	// Limits bound the files extracted from layers.
	Limits layers.Limits
	// Inventory tunes the extractors.
	Inventory inventory.Options
	// Secrets turns on secret detection (package secrets).
	Secrets bool
}

// Result is what a scan found.
type Result struct {
	// Digest is the image manifest's digest.
	Digest string
	// Layers are the layers' diff IDs, lowest first.
	Layers []string
	// OS is the distribution from os-release ("debian", "12").
	OSID, OSVersion string
	Packages        []inventory.Package
	Vulns           []match.Vuln
	// Secrets are the hard-coded secrets found (with Options.Secrets).
	Secrets []secrets.Find
	// Warnings are files left out on purpose (too large to inspect).
	Warnings []error
	// Errors are the problems met (bad layers, unreadable files, records
	// whose versions do not parse); each names its layer and path or its
	// record. The rest of the image was still scanned.
	Errors []error
}

// Scan inventories img and matches its packages against opts.DB. It
// returns an error only when ctx is done or nothing could be read.
func Scan(ctx context.Context, img v1.Image, opts Options) (*Result, error) {
	res, err := Inventory(ctx, img, opts)
	if err != nil {
		return nil, err
	}
	if opts.DB != nil {
		vulns, errs := match.Match(opts.DB, res.Packages)
		res.Vulns = vulns
		res.Errors = append(res.Errors, errs...)
	}
	return res, nil
}

// Inventory flattens img and lists its packages, without matching.
func Inventory(ctx context.Context, img v1.Image, opts Options) (*Result, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	ls, err := layers.FromImage(img)
	if err != nil {
		return nil, err
	}
	exts, err := inventory.Extractors(opts.Inventory)
	if err != nil {
		return nil, err
	}
	var sec *secrets.Scanner
	var ins *layers.Inspector
	if opts.Secrets {
		sec = secrets.New()
		ins = sec.Inspector()
	}
	tree, err := layers.FlattenInspect(ctx, ls, inventory.Want(exts), ins, opts.TempDir, opts.Limits)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	inv, err := inventory.Extract(ctx, tree, exts)
	if err != nil {
		return nil, err
	}
	res := &Result{Digest: d.String(), OSID: inv.OSID, OSVersion: inv.OSVersion, Packages: inv.Packages}
	for _, l := range tree.Layers {
		res.Layers = append(res.Layers, l.String())
	}
	if sec != nil {
		res.Secrets = sec.Finds()
	}
	res.Warnings = tree.Skipped
	res.Errors = append(res.Errors, tree.Errors...)
	res.Errors = append(res.Errors, inv.Errors...)
	return res, nil
}
