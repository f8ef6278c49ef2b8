package cluster

import (
	"time"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
)

// Record is what the scan of a running image found, for the admission
// webhook (governance.vulnerableImages): every vulnerability, unfiltered
// (exceptions and ignoreUnfixed are the webhook's to apply), under the
// digest the kubelet reported and, when it differs (a multi-platform
// index), the scanned manifest's. db names the database matched against;
// scanned is when.
func Record(im Image, res *image.Result, db string, scanned time.Time) *vulnindex.Record {
	r := &vulnindex.Record{Digests: []string{im.Digest}, Ref: im.Ref, Scanned: scanned.UTC(), Database: db, Findings: findings.JSON(res.Vulns)}
	if res.Digest != "" && res.Digest != im.Digest {
		r.Digests = append(r.Digests, res.Digest)
	}
	for _, e := range res.Errors {
		r.Errors = append(r.Errors, e.Error())
	}
	return r
}
