package cluster

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/match"
)

// Scan inventories img, or takes its inventory from the cache when an
// image with the same layers was inventoried before (then no layer is
// downloaded), and matches it against opts.DB. cached reports a cache
// hit. Errors of a fresh scan are in the result and the entry is not
// cached, so that the next run tries again.
func Scan(ctx context.Context, img v1.Image, cache Cache, opts image.Options) (res *image.Result, cached bool, err error) {
	d, err := img.Digest()
	if err != nil {
		return nil, false, fmt.Errorf("image digest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, false, fmt.Errorf("image config: %w", err)
	}
	var layers []string
	for _, l := range cf.RootFS.DiffIDs {
		layers = append(layers, l.String())
	}
	if e, ok := cache.Get(layers); ok && (e.SecretsScanned || !opts.Secrets) {
		res = &image.Result{Digest: d.String(), Layers: layers, OSID: e.OSID, OSVersion: e.OSVersion, Packages: e.Packages}
		if opts.Secrets {
			res.Secrets = e.Secrets
		}
		if opts.DB != nil {
			vulns, errs := match.Match(opts.DB, res.Packages)
			res.Vulns, res.Errors = vulns, errs
		}
		return res, true, nil
	}
	res, err = image.Inventory(ctx, img, opts)
	if err != nil {
		return nil, false, err
	}
	if len(res.Errors) == 0 {
		e := &Entry{Layers: res.Layers, OSID: res.OSID, OSVersion: res.OSVersion, Packages: res.Packages, Secrets: res.Secrets, SecretsScanned: opts.Secrets}
		if err := cache.Put(e); err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("inventory cache: %w", err))
		}
	}
	if opts.DB != nil {
		vulns, errs := match.Match(opts.DB, res.Packages)
		res.Vulns = vulns
		res.Errors = append(res.Errors, errs...)
	}
	return res, false, nil
}
