package governance

import (
	"context"
	"fmt"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/imageref"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// TrustedImages restricts the images of pods and pod templates: registry
// and repository allow and deny lists, optional digest pinning, and no
// :latest or untagged images. Patterns match registry/repository as
// imageref.Parse reads it (nginx is docker.io/library/nginx).
type TrustedImages struct {
	cfg config.TrustedImages
}

// NewTrustedImages returns the policy for the configured lists.
func NewTrustedImages(cfg *config.TrustedImages) *TrustedImages {
	return &TrustedImages{cfg: *cfg}
}

// ID implements Policy.
func (p *TrustedImages) ID() string { return TrustedImagesID }

// Check implements Policy for CREATE and UPDATE of workloads: one violation
// per offending container.
func (p *TrustedImages) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Object == nil || (req.Operation != Create && req.Operation != Update) {
		return nil, nil
	}
	_, spec, ok := k8s.PodTemplate(req.Object)
	if !ok {
		return nil, nil
	}
	var out []Violation
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, c := range k8s.Slice(spec, field) {
			cm, _ := c.(map[string]any)
			name, image := k8s.String(cm, "name"), k8s.String(cm, "image")
			if image == "" {
				continue
			}
			if reason, fix := p.judge(image); reason != "" {
				out = append(out, Violation{
					ID:          p.ID(),
					Message:     fmt.Sprintf("container %s: image %s %s", name, image, reason),
					Remediation: fix,
				})
			}
		}
	}
	return out, nil
}

// judge returns why an image is refused and how to fix it, or "" when it is
// trusted.
func (p *TrustedImages) judge(image string) (reason, fix string) {
	ref := imageref.Parse(image)
	full := ref.Name()
	for _, pat := range p.cfg.Deny {
		if config.MatchPattern(pat, full) {
			return fmt.Sprintf("(%s) matches the denied pattern %s", full, pat), "Use an image from a trusted registry."
		}
	}
	if len(p.cfg.Allow) > 0 && !config.MatchAny(p.cfg.Allow, full) {
		return fmt.Sprintf("(%s) matches no allowed pattern (%v)", full, p.cfg.Allow), "Use an image from one of the allowed registries and repositories."
	}
	if !p.cfg.AllowLatest {
		if ref.Tag == "latest" {
			return "uses the mutable tag :latest", "Pin a version tag or a digest (image@sha256:...)."
		}
		if ref.Tag == "" && ref.Digest == "" {
			return "has no tag (it means :latest)", "Pin a version tag or a digest (image@sha256:...)."
		}
	}
	if p.cfg.RequireDigest && ref.Digest == "" {
		return "is not pinned by digest", "Refer to the image by digest: image@sha256:<digest>."
	}
	return "", ""
}
