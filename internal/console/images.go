package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/store"
)

// Bounds of the images page.
const (
	// imageBudget is the most vulnerability findings one index reads; an
	// index that stops there says so (Truncated).
	imageBudget = 1_000_000
	maxImages   = 500
	// imagesTTL is how long an images index is reused.
	imagesTTL = 30 * time.Second
)

// Workload names a workload that runs an image.
type Workload struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
}

// ImageRow is one image of the images page: its distinct vulnerabilities
// (OSV ID and package) counted by severity, and the workloads running it.
type ImageRow struct {
	Image    string           `json:"image"`
	Digest   string           `json:"digest"`
	Vulns    int              `json:"vulns"`
	Fixable  int              `json:"fixable"`
	Severity map[string]int   `json:"severity"`
	Worst    finding.Severity `json:"worst"`
	// Excepted counts the vulnerabilities whose every finding an active
	// console exception covers.
	Excepted  int        `json:"excepted"`
	Workloads []Workload `json:"workloads"`
}

// ImagesPage is the answer of GET /console/api/images.
type ImagesPage struct {
	// Total is the number of images matching the filter; Images holds at
	// most 500 of them, worst first.
	Total  int        `json:"total"`
	Images []ImageRow `json:"images"`
	// Findings is the number of current vulnerability findings read.
	Findings int `json:"findings"`
	// Truncated is set when the store held more vulnerability findings
	// than one index reads (1,000,000).
	Truncated bool `json:"truncated,omitempty"`
	// Unreadable counts findings whose message names no image.
	Unreadable int `json:"unreadable,omitempty"`
}

// VulnRow is one vulnerability of an image.
type VulnRow struct {
	ID        string           `json:"id"`
	Package   string           `json:"package"`
	Version   string           `json:"version"`
	Ecosystem string           `json:"ecosystem"`
	Fixed     string           `json:"fixed"`
	Severity  finding.Severity `json:"severity"`
	Message   string           `json:"message"`
	Workloads []Workload       `json:"workloads"`
	// Exception is the console exception that covers every workload's
	// finding ("" when some finding is not covered).
	Exception string `json:"exception,omitempty"`
}

// ImageVulns is the answer of GET /console/api/images/vulns.
type ImageVulns struct {
	ImageRow
	Items []VulnRow `json:"items"`
}

// vulnInfo is what a vulnerability finding's message says.
type vulnInfo struct {
	image, id, pkg, version, ecosystem, fixed string
}

// parseVulnMessage reads a KOR-IMG-VULN finding's message as the
// operator's image rescans write it (imagescan.WorkloadFindings around
// findings.ToFindings):
//
//	image REF: ID (ALIASES): PACKAGE VERSION (ECOSYSTEM) in PATH, layer L: SEVERITY, fixed in V | no fix known
func parseVulnMessage(msg string) (vulnInfo, bool) {
	var v vulnInfo
	rest, ok := strings.CutPrefix(msg, "image ")
	if !ok {
		return v, false
	}
	if v.image, rest, ok = strings.Cut(rest, ": "); !ok || v.image == "" {
		return v, false
	}
	head, tail, ok := strings.Cut(rest, ": ")
	if !ok {
		return v, false
	}
	if f := strings.Fields(head); len(f) > 0 {
		v.id = f[0]
	}
	f := strings.Fields(tail)
	if v.id == "" || len(f) < 3 {
		return v, false
	}
	v.pkg, v.version = f[0], f[1]
	v.ecosystem = strings.Trim(f[2], "()")
	if i := strings.LastIndex(tail, ", fixed in "); i >= 0 {
		v.fixed = tail[i+len(", fixed in "):]
	}
	return v, true
}

// digestOf returns the digest of a reference by digest (repo@sha256:…).
func digestOf(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ""
}

type vulnKey struct{ id, pkg, version string }

type workloadKey struct{ ns, kind, name string }

// imageEntry is one current finding of a workload: an image and a
// vulnerability, by index.
type imageEntry struct {
	image, vuln int
	excepted    string
}

// imageIndex is the current state of the image scans: for each workload,
// the findings of its latest rescan.
type imageIndex struct {
	at         time.Time
	images     []string
	vulns      []VulnRow // without workloads
	latest     map[workloadKey]time.Time
	current    map[workloadKey][]imageEntry
	findings   int
	truncated  bool
	unreadable int
}

type imageCache struct {
	mu  sync.Mutex
	idx *imageIndex
}

// forget drops the index (an exception was created or revoked).
func (c *imageCache) forget() {
	c.mu.Lock()
	c.idx = nil
	c.mu.Unlock()
}

// imageIndex returns the images index, computed again when older than
// imagesTTL.
func (s *Server) imageIndex(ctx context.Context) (*imageIndex, error) {
	c := &s.images
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.o.Now()
	if c.idx != nil && now.Sub(c.idx.at) < imagesTTL && now.Sub(c.idx.at) >= 0 {
		return c.idx, nil
	}
	idx, err := s.buildImageIndex(ctx, now)
	if err != nil {
		return nil, err
	}
	c.idx = idx
	return idx, nil
}

// buildImageIndex reads the vulnerability findings oldest first and keeps,
// for each workload, those of its latest report (a rescan stores every
// finding of every workload with one time).
func (s *Server) buildImageIndex(ctx context.Context, now time.Time) (*imageIndex, error) {
	exc, err := s.exceptionMatcher(ctx, now)
	if err != nil {
		return nil, err
	}
	idx := &imageIndex{at: now, latest: map[workloadKey]time.Time{}, current: map[workloadKey][]imageEntry{}}
	imageIDs := map[string]int{}
	vulnIDs := map[vulnKey]int{}
	f := store.Filter{Types: []store.Type{store.TypeFinding}, RuleIDs: []string{findings.VulnRuleID}}
	read := 0
	err = s.o.Store.Scan(ctx, f, 0, func(rec *store.Record) error {
		if read++; read > imageBudget {
			idx.truncated = true
			return store.ErrStop
		}
		e := &rec.Event
		v, ok := parseVulnMessage(e.Message)
		if ref := e.Attributes["image"]; ref != "" {
			v.image = ref
		}
		if !ok {
			idx.unreadable++
			return nil
		}
		wk := workloadKey{e.Resource.Namespace, e.Resource.Kind, e.Resource.Name}
		switch last, seen := idx.latest[wk]; {
		case !seen || e.Time.After(last):
			idx.latest[wk] = e.Time
			idx.current[wk] = idx.current[wk][:0]
		case e.Time.Before(last):
			return nil
		}
		ii, ok := imageIDs[v.image]
		if !ok {
			ii = len(idx.images)
			imageIDs[v.image] = ii
			idx.images = append(idx.images, v.image)
		}
		vk := vulnKey{v.id, v.pkg, v.version}
		vi, ok := vulnIDs[vk]
		if !ok {
			vi = len(idx.vulns)
			vulnIDs[vk] = vi
			msg := e.Message[len("image ")+len(v.image)+2:]
			idx.vulns = append(idx.vulns, VulnRow{ID: v.id, Package: v.pkg, Version: v.version, Ecosystem: v.ecosystem, Fixed: v.fixed,
				Severity: e.Severity, Message: msg})
		}
		idx.vulns[vi].Severity = max(idx.vulns[vi].Severity, e.Severity)
		idx.current[wk] = append(idx.current[wk], imageEntry{image: ii, vuln: vi, excepted: exc.match(&e.Finding)})
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrStop) {
		return nil, err
	}
	for _, es := range idx.current {
		idx.findings += len(es)
	}
	return idx, nil
}

// imageAgg gathers one image's rows.
type imageAgg struct {
	row   ImageRow
	vulns map[int]*VulnRow
	// covered counts a vulnerability's excepted findings against all.
	covered map[int][2]int
	wl      map[workloadKey]bool
}

// aggregate groups the current findings by image, keeping the images
// that keep says to.
func (idx *imageIndex) aggregate(keep func(image int, wk workloadKey) bool, withVulns bool) []*imageAgg {
	aggs := map[int]*imageAgg{}
	for wk, es := range idx.current {
		for _, e := range es {
			if !keep(e.image, wk) {
				continue
			}
			a := aggs[e.image]
			if a == nil {
				ref := idx.images[e.image]
				a = &imageAgg{row: ImageRow{Image: ref, Digest: digestOf(ref), Severity: map[string]int{}, Workloads: []Workload{}},
					vulns: map[int]*VulnRow{}, covered: map[int][2]int{}, wl: map[workloadKey]bool{}}
				aggs[e.image] = a
			}
			if !a.wl[wk] {
				a.wl[wk] = true
				a.row.Workloads = append(a.row.Workloads, Workload{wk.ns, wk.kind, wk.name})
			}
			v := a.vulns[e.vuln]
			if v == nil {
				c := idx.vulns[e.vuln]
				v = &c
				v.Workloads = nil
				a.vulns[e.vuln] = v
			}
			if withVulns {
				v.Workloads = append(v.Workloads, Workload{wk.ns, wk.kind, wk.name})
			}
			cov := a.covered[e.vuln]
			cov[1]++
			if e.excepted != "" {
				cov[0]++
				v.Exception = e.excepted
			}
			a.covered[e.vuln] = cov
		}
	}
	out := make([]*imageAgg, 0, len(aggs))
	for _, a := range aggs {
		for vi, v := range a.vulns {
			a.row.Vulns++
			a.row.Severity[v.Severity.String()]++
			a.row.Worst = max(a.row.Worst, v.Severity)
			if v.Fixed != "" {
				a.row.Fixable++
			}
			if cov := a.covered[vi]; cov[0] == cov[1] {
				a.row.Excepted++
			} else {
				v.Exception = ""
			}
		}
		slices.SortFunc(a.row.Workloads, compareWorkloads)
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *imageAgg) int {
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			if c := cmp.Compare(b.row.Severity[sev], a.row.Severity[sev]); c != 0 {
				return c
			}
		}
		return strings.Compare(a.row.Image, b.row.Image)
	})
	return out
}

func compareWorkloads(a, b Workload) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), strings.Compare(a.Kind, b.Kind))
}

// images answers the images page: ?namespace= (workloads of that
// namespace), ?workload=NS/NAME, ?severity= (images with at least one
// vulnerability of that severity or worse), ?q= (in the image reference).
func (s *Server) imagesPage(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	v := r.URL.Query()
	idx, err := s.imageIndex(ctx)
	if err != nil {
		s.fail(w, "images", err)
		return
	}
	var minSev finding.Severity
	if sv := v.Get("severity"); sv != "" {
		if minSev, err = finding.ParseSeverity(sv); err != nil {
			writeError(w, http.StatusBadRequest, "severity: %v", err)
			return
		}
	}
	ns, q := v.Get("namespace"), strings.ToLower(strings.TrimSpace(v.Get("q")))
	wns, wname, _ := strings.Cut(v.Get("workload"), "/")
	keep := func(image int, wk workloadKey) bool {
		return (ns == "" || wk.ns == ns) && (wname == "" || (wk.ns == wns && wk.name == wname)) &&
			(q == "" || strings.Contains(strings.ToLower(idx.images[image]), q))
	}
	page := ImagesPage{Images: []ImageRow{}, Findings: idx.findings, Truncated: idx.truncated, Unreadable: idx.unreadable}
	for _, a := range idx.aggregate(keep, false) {
		if a.row.Worst < minSev {
			continue
		}
		page.Total++
		if len(page.Images) < maxImages {
			page.Images = append(page.Images, a.row)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// imageVulns answers one image's vulnerabilities (?image=REF), worst
// first, each with the workloads that run it.
func (s *Server) imageVulns(ctx context.Context, w http.ResponseWriter, r *http.Request, _ *auth.Session) {
	ref := r.URL.Query().Get("image")
	if ref == "" {
		writeError(w, http.StatusBadRequest, "image: want ?image=REFERENCE")
		return
	}
	idx, err := s.imageIndex(ctx)
	if err != nil {
		s.fail(w, "images", err)
		return
	}
	aggs := idx.aggregate(func(image int, _ workloadKey) bool { return idx.images[image] == ref }, true)
	if len(aggs) == 0 {
		writeError(w, http.StatusNotFound, "image %q: no current vulnerability findings", ref)
		return
	}
	a := aggs[0]
	out := ImageVulns{ImageRow: a.row, Items: make([]VulnRow, 0, len(a.vulns))}
	for _, v := range a.vulns {
		slices.SortFunc(v.Workloads, compareWorkloads)
		out.Items = append(out.Items, *v)
	}
	slices.SortFunc(out.Items, func(x, y VulnRow) int {
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), strings.Compare(x.ID, y.ID), strings.Compare(x.Package, y.Package), strings.Compare(x.Version, y.Version))
	})
	writeJSON(w, http.StatusOK, out)
}
