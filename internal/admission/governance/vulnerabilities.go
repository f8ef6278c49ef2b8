package governance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/signature"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
	"github.com/kordon-dev/kordon/internal/imageref"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// VulnerableImages denies the images of pods and pod templates that the
// scan cache (kordon image scan --cluster) records with a vulnerability at
// or above a severity. An image is looked up by digest: the reference's
// own, else (for a Pod) the digest its container status reports for the
// same image, else the digest the registry gives for the tag. An image the
// cache cannot judge — no record, a stale or incomplete one, a tag the
// registry does not resolve — is reported under UnscannedImageID with the
// configured unscanned action, never silently admitted. Like
// VerifiedImages, only images a request adds or changes are judged.
type VulnerableImages struct {
	cfg      *config.VulnerableImages
	min      finding.Severity
	reader   *vulnindex.Reader
	resolver *signature.Verifier
	now      func() time.Time
}

// NewVulnerableImages returns the policy; now is its clock (nil means
// time.Now), used with maxAge.
func NewVulnerableImages(cfg *config.VulnerableImages, now func() time.Time) *VulnerableImages {
	opts := signature.Options{MaxResponseBytes: cfg.Registry.MaxResponseBytes}
	if cfg.Registry.DockerConfig {
		opts.Keychain = authn.DefaultKeychain
	}
	if now == nil {
		now = time.Now
	}
	return &VulnerableImages{cfg: cfg, min: cfg.MinSeverity(), reader: vulnindex.NewReader(cfg.CacheDir, 0),
		resolver: signature.NewVerifier(opts), now: now}
}

// ID implements Policy.
func (p *VulnerableImages) ID() string { return VulnerableImagesID }

// Check implements Policy for CREATE and UPDATE of pods and workloads: one
// violation per container whose image has counted vulnerabilities, and
// one (UnscannedImageID, capped at the unscanned action) per container
// whose image could not be judged. It returns an error only when ctx ends.
func (p *VulnerableImages) Check(ctx context.Context, req *Request) ([]Violation, error) {
	todo := newImages(req)
	if len(todo) == 0 {
		return nil, nil
	}
	statuses := statusDigests(req)
	out := eachImage(todo, func(c container) []Violation { return p.judge(ctx, c, statuses) })
	if err := ctx.Err(); err != nil {
		return slices.Concat(out...), fmt.Errorf("vulnerable images: %w", context.Cause(ctx))
	}
	return slices.Concat(out...), nil
}

// statusDigests maps "container name|image" to the digest a Pod's status
// reports for that container running that image.
func statusDigests(req *Request) map[string]string {
	if req.Group != "" || req.Kind != "Pod" || req.Object == nil {
		return nil
	}
	out := map[string]string{}
	status := k8s.Map(req.Object.Content, "status")
	for _, field := range []string{"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"} {
		for _, s := range k8s.Slice(status, field) {
			sm, _ := s.(map[string]any)
			id := k8s.String(sm, "imageID")
			if i := strings.Index(id, "://"); i >= 0 {
				id = id[i+3:]
			}
			if _, d, ok := strings.Cut(id, "@"); ok && vulnindex.ValidDigest(d) {
				out[k8s.String(sm, "name")+"|"+normalImage(k8s.String(sm, "image"))] = d
			}
		}
	}
	return out
}

// normalImage writes a tag reference fully (docker.io/library/nginx:latest).
func normalImage(image string) string {
	r := imageref.Parse(image)
	if r.Tag == "" {
		r.Tag = "latest"
	}
	return r.String()
}

// digestOf returns the digest to look up for a container, and how it was
// found.
func (p *VulnerableImages) digestOf(ctx context.Context, c container, ref imageref.Reference, statuses map[string]string) (string, error) {
	if ref.Digest != "" {
		return ref.Digest, nil
	}
	if d, ok := statuses[c.name+"|"+normalImage(c.image)]; ok {
		return d, nil
	}
	return p.resolver.Resolve(ctx, c.image)
}

// judge returns the violations of one container's image.
func (p *VulnerableImages) judge(ctx context.Context, c container, statuses map[string]string) []Violation {
	ref := imageref.Parse(c.image)
	digest, err := p.digestOf(ctx, c, ref, statuses)
	if err != nil {
		return p.unscanned(c, "", fmt.Sprintf("its digest is unknown (%v)", err))
	}
	shown := c.image
	if ref.Digest == "" {
		shown += " (" + digest + ")"
	}
	rec, err := p.reader.Get(digest)
	if errors.Is(err, vulnindex.ErrNotFound) {
		return p.unscanned(c, shown, "the scan cache has no record of it (kordon image scan --cluster scans running images only)")
	}
	if err != nil {
		return p.unscanned(c, shown, err.Error())
	}
	if p.cfg.MaxAge.Duration > 0 {
		if age := p.now().Sub(rec.Scanned); age > p.cfg.MaxAge.Duration {
			return p.unscanned(c, shown, fmt.Sprintf("its scan record is from %s, older than maxAge %s", rec.Scanned.Format(time.RFC3339), p.cfg.MaxAge.Duration))
		}
	}
	counted := p.count(rec, ref.Name())
	if len(counted) == 0 {
		if !rec.Complete() {
			return p.unscanned(c, shown, fmt.Sprintf("its scan was incomplete (%s)", rec.Errors[0]))
		}
		return nil
	}
	return []Violation{p.violation(c, shown, rec, counted)}
}

// count returns the record's findings that count, worst first.
func (p *VulnerableImages) count(rec *vulnindex.Record, name string) []findings.JSONFinding {
	var out []findings.JSONFinding
	for _, f := range rec.Findings {
		if findings.Severity(f.Severity) < p.min || (p.cfg.IgnoreUnfixed && f.FixedVersion == "") || p.excepted(f, name) {
			continue
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b findings.JSONFinding) int {
		return int(findings.Severity(b.Severity)) - int(findings.Severity(a.Severity))
	})
	return out
}

func (p *VulnerableImages) excepted(f findings.JSONFinding, name string) bool {
	for _, e := range p.cfg.Exceptions {
		if e.ID != f.ID && !slices.Contains(f.Aliases, e.ID) {
			continue
		}
		if len(e.Images) == 0 || config.MatchAny(e.Images, name) {
			return true
		}
	}
	return false
}

// maxListed bounds the vulnerabilities a message names.
const maxListed = 5

func (p *VulnerableImages) violation(c container, shown string, rec *vulnindex.Record, counted []findings.JSONFinding) Violation {
	var parts, fixes []string
	for i, f := range counted {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(counted)-maxListed))
			break
		}
		id := f.ID
		if len(f.Aliases) > 0 {
			id += " (" + strings.Join(f.Aliases, ", ") + ")"
		}
		fix := "no fix known"
		if f.FixedVersion != "" {
			fix = "fixed in " + f.FixedVersion
			if s := f.Package.Name + " " + f.FixedVersion; !slices.Contains(fixes, s) {
				fixes = append(fixes, s)
			}
		}
		parts = append(parts, fmt.Sprintf("%s in %s %s, %s, %s", id, f.Package.Name, f.Package.Version, f.Severity, fix))
	}
	noun := "vulnerabilities"
	if len(counted) == 1 {
		noun = "vulnerability"
	}
	msg := fmt.Sprintf("container %s: image %s has %d %s at or above %s: %s (scanned %s)",
		c.name, shown, len(counted), noun, p.min, strings.Join(parts, "; "), rec.Scanned.UTC().Format(time.RFC3339))
	fix := "Rebuild the image on packages with the fixes"
	if len(fixes) > 0 {
		fix += " (" + strings.Join(fixes, ", ") + ")"
	}
	fix += ", or add an exception (governance.vulnerableImages.exceptions) naming the OSV ID or alias with a reason."
	return Violation{ID: VulnerableImagesID, Message: msg, Remediation: fix}
}

// unscanned is the violation of an image that could not be judged, capped
// at the configured unscanned action.
func (p *VulnerableImages) unscanned(c container, shown, why string) []Violation {
	if shown == "" {
		shown = c.image
	}
	v := Violation{ID: UnscannedImageID,
		Message: fmt.Sprintf("container %s: image %s was not judged for vulnerabilities: %s", c.name, shown, why),
		Remediation: "Scan the image into the cache the webhook reads (kordon image scan --cluster --inventory-cache " +
			p.reader.Dir() + "), or refer to it by a digest that was scanned."}
	switch p.cfg.Unscanned {
	case config.UnscannedDeny:
	case config.UnscannedAllow:
		v.AtMost = config.Audit
	default:
		v.AtMost = config.Warn
	}
	return []Violation{v}
}

var _ Policy = (*VulnerableImages)(nil)
