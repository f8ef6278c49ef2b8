package console

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image/cluster"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/match"
	"github.com/kordon-dev/kordon/internal/operator/imagescan"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store"
)

// genImage is a generated running image: the truth the images page is
// checked against.
type genImage struct {
	ref       string
	vulns     []match.Vuln // current (the latest rescan)
	gone      []match.Vuln // only in the earlier rescan (fixed since)
	workloads []cluster.Workload
}

var genSeverities = []string{"critical", "high", "medium", "low", "unknown"}

// genImages generates n running images with their vulnerabilities and
// workloads (namespaces ns-0 … ns-39, names app-N as the store's
// generator uses them).
func genImages(n int, seed uint64) []genImage {
	rng := rand.New(rand.NewPCG(seed, 7))
	eco := []struct{ eco, typ, path string }{
		{"Debian:12", "deb", "var/lib/dpkg/status"}, {"Alpine:v3.20", "apk", "lib/apk/db/installed"},
		{"Go", "golang", "usr/local/bin/server"}, {"npm", "npm", "app/package-lock.json"}}
	out := make([]genImage, n)
	for i := range out {
		im := &out[i]
		im.ref = fmt.Sprintf("registry.example.com/team-%d/service-%d@sha256:%x", i%17, i, sha256.Sum256(fmt.Appendf(nil, "image %d/%d", seed, i)))
		nv := rng.IntN(30)
		if i%10 == 9 {
			nv = 0 // a clean image: no finding, so not listed
		}
		for v := range nv {
			e := eco[rng.IntN(len(eco))]
			pkg := inventory.Package{Name: fmt.Sprintf("lib%s-%d", e.typ, rng.IntN(40)), Version: fmt.Sprintf("1.%d.%d", rng.IntN(9), v),
				Ecosystem: e.eco, Type: e.typ, Path: e.path, Layer: fmt.Sprintf("sha256:%x", sha256.Sum256(fmt.Appendf(nil, "layer %d/%d", i, v)))}
			mv := match.Vuln{ID: fmt.Sprintf("CVE-2026-%05d", rng.IntN(3000)), Package: pkg, Severity: genSeverities[rng.IntN(len(genSeverities))]}
			if rng.IntN(3) > 0 {
				mv.FixedVersion = fmt.Sprintf("1.%d.%d", 9, v+1)
			}
			if rng.IntN(2) == 0 {
				mv.Aliases = []string{fmt.Sprintf("GHSA-%04x-%04x-%04x", i, v, nv)}
			}
			if mv.Severity != "unknown" {
				mv.Score = 5 + float64(rng.IntN(50))/10
			}
			im.vulns = append(im.vulns, mv)
		}
		if nv > 0 {
			g := im.vulns[0]
			g.ID = fmt.Sprintf("CVE-2025-%05d", i)
			im.gone = []match.Vuln{g}
		}
		seen := map[string]bool{}
		for range 1 + rng.IntN(3) {
			kinds := []string{"Deployment", "StatefulSet", "DaemonSet"}
			w := cluster.Workload{Namespace: fmt.Sprintf("ns-%d", rng.IntN(40)), Kind: kinds[rng.IntN(len(kinds))], Name: fmt.Sprintf("app-%d", rng.IntN(150))}
			if k := w.Namespace + "/" + w.Name; !seen[k] {
				seen[k] = true
				im.workloads = append(im.workloads, w)
			}
		}
	}
	return out
}

// fillImages stores the generated images' vulnerability findings as the
// operator's image rescans do (the same conversion and the same sink):
// an earlier rescan two days before at, with one more vulnerability per
// image, then the current one at at.
func fillImages(tb testing.TB, st store.Store, images []genImage, at time.Time) {
	tb.Helper()
	ctx := context.Background()
	out := sink.Store{Store: st}
	for _, rescan := range []struct {
		at    time.Time
		first bool
	}{{at.Add(-48 * time.Hour), true}, {at, false}} {
		var fs []finding.Finding
		for _, im := range images {
			vulns := im.vulns
			if rescan.first {
				vulns = append(append([]match.Vuln{}, im.gone...), im.vulns...)
			}
			vf := findings.ToFindings(vulns, "Image package with a known vulnerability", []string{"NIST-800-190:4.1.1"}, findings.Options{})
			fs = append(fs, imagescan.WorkloadFindings(cluster.Image{Ref: im.ref, Workloads: im.workloads}, vf)...)
		}
		for len(fs) > 0 {
			n := min(len(fs), 5000)
			if err := out.Findings(ctx, rules.EngineImage, rescan.at, fs[:n]); err != nil {
				tb.Fatal(err)
			}
			fs = fs[n:]
		}
	}
}
