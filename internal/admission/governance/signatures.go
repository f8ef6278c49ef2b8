package governance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/image/signature"
	"github.com/kordon-dev/kordon/internal/imageref"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// VerifiedImages requires the images of pods and pod templates to carry
// sigstore signatures (and the configured attestations) by trusted
// authorities, verified in the registry by package signature, and
// optionally to be pinned by digest. Only images a request adds or
// changes are judged: an UPDATE that keeps a container's image (labels,
// finalizers, scaling) does not ask the registry again. A registry that
// fails or does not answer within the request's deadline is an error,
// never a violation: the webhook's failureAction decides.
type VerifiedImages struct {
	entries  []imageEntry
	verifier *signature.Verifier
}

// imageEntry is a compiled config.ImageVerification.
type imageEntry struct {
	cfg    config.ImageVerification
	field  string // governance.verifiedImages.images[i]
	policy *signature.Policy
}

// NewVerifiedImages reads the keys and trusted roots the configuration
// names and returns the policy. Errors name the entry and authority.
func NewVerifiedImages(cfg *config.VerifiedImages) (*VerifiedImages, error) {
	opts := signature.Options{CacheTTL: cfg.CacheTTL.Duration, CacheSize: cfg.CacheSize, MaxResponseBytes: cfg.Registry.MaxResponseBytes}
	if cfg.Registry.DockerConfig {
		opts.Keychain = authn.DefaultKeychain
	}
	p := &VerifiedImages{verifier: signature.NewVerifier(opts)}
	var errs []error
	for i, e := range cfg.Images {
		field := fmt.Sprintf("governance.verifiedImages.images[%d]", i)
		pol := &signature.Policy{Name: fmt.Sprintf("%d/%s", i, e.Name)}
		for j, a := range e.Authorities {
			auth, err := loadAuthority(&a)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.authorities[%d] (%s): %w", field, j, a.Name, err))
				continue
			}
			pol.Authorities = append(pol.Authorities, auth)
		}
		for _, at := range e.Attestations {
			pol.Attestations = append(pol.Attestations, at.PredicateType)
		}
		p.entries = append(p.entries, imageEntry{cfg: e, field: field, policy: pol})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// loadAuthority reads an authority's files and applies the defaults:
// keyless signatures need a transparency log entry and an SCT.
func loadAuthority(a *config.SignatureAuthority) (*signature.Authority, error) {
	spec := &signature.AuthoritySpec{Name: a.Name, Timestamps: a.Timestamps}
	var err error
	switch {
	case a.Key != "":
		if spec.PublicKey, err = signature.ReadTrustFile(a.Key); err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
	case a.PublicKey != "":
		spec.PublicKey = []byte(a.PublicKey)
	}
	if a.Keyless != nil {
		k := a.Keyless
		spec.Keyless = &signature.KeylessSpec{Issuer: k.Issuer, IssuerRegExp: k.IssuerRegExp, Subject: k.Subject, SubjectRegExp: k.SubjectRegExp}
		spec.TransparencyLog, spec.SignedCertificateTimestamps = 1, 1
	}
	if a.TransparencyLog != nil {
		spec.TransparencyLog = *a.TransparencyLog
	}
	if a.SignedCertificateTimestamps != nil {
		spec.SignedCertificateTimestamps = *a.SignedCertificateTimestamps
	}
	if a.TrustedRoot != "" {
		if spec.TrustedRoot, err = signature.ReadTrustFile(a.TrustedRoot); err != nil {
			return nil, fmt.Errorf("trustedRoot: %w", err)
		}
	}
	return signature.LoadAuthority(spec)
}

// ID implements Policy.
func (p *VerifiedImages) ID() string { return VerifiedImagesID }

// Check implements Policy for CREATE and UPDATE of pods and workloads: one
// violation per container whose image is not verified. Images that could
// not be judged (registry errors, deadline) are returned as an error
// beside the violations of the others.
func (p *VerifiedImages) Check(ctx context.Context, req *Request) ([]Violation, error) {
	todo := newImages(req)
	if len(todo) == 0 {
		return nil, nil
	}
	// Images are judged concurrently (a few at a time), so that a pod's
	// cold images share the deadline instead of queueing for it; the
	// results keep the containers' order.
	type verdict struct {
		vs  []Violation
		err error
	}
	verdicts := eachImage(todo, func(c container) verdict {
		vs, err := p.judge(ctx, c)
		return verdict{vs, err}
	})
	var out []Violation
	var errs []error
	for _, v := range verdicts {
		out = append(out, v.vs...)
		if v.err != nil {
			errs = append(errs, v.err)
		}
	}
	return out, errors.Join(errs...)
}

// maxConcurrentImages bounds the images of one request verified at once.
const maxConcurrentImages = 4

// eachImage calls judge for each container, maxConcurrentImages at a
// time, and returns the results in the containers' order.
func eachImage[T any](todo []container, judge func(container) T) []T {
	out := make([]T, len(todo))
	sem := make(chan struct{}, maxConcurrentImages)
	var wg sync.WaitGroup
	for i, c := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = judge(c)
		})
	}
	wg.Wait()
	return out
}

// newImages lists the containers of a CREATE or UPDATE of a pod or
// workload whose images need judging: each image once, and on UPDATE only
// images the old object did not already run. It is empty for other
// requests.
func newImages(req *Request) []container {
	if req.Object == nil || (req.Operation != Create && req.Operation != Update) {
		return nil
	}
	_, spec, ok := k8s.PodTemplate(req.Object)
	if !ok {
		return nil
	}
	kept := map[string]bool{}
	if req.Operation == Update && req.OldObject != nil {
		if _, old, ok := k8s.PodTemplate(req.OldObject); ok {
			for _, img := range images(old) {
				kept[img.image] = true
			}
		}
	}
	var todo []container
	for _, c := range images(spec) {
		if !kept[c.image] {
			kept[c.image] = true // judged once per request
			todo = append(todo, c)
		}
	}
	return todo
}

// container is one container's name and image.
type container struct{ name, image string }

// images lists the containers of a pod spec with an image, init
// containers first.
func images(spec map[string]any) []container {
	var out []container
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, c := range k8s.Slice(spec, field) {
			cm, _ := c.(map[string]any)
			if img := k8s.String(cm, "image"); img != "" {
				out = append(out, container{name: k8s.String(cm, "name"), image: img})
			}
		}
	}
	return out
}

// judge checks one image against every entry that matches it.
func (p *VerifiedImages) judge(ctx context.Context, c container) ([]Violation, error) {
	ref := imageref.Parse(c.image)
	full := ref.Name()
	var out []Violation
	var errs []error
	for _, e := range p.entries {
		if !config.MatchAny(e.cfg.Images, full) || config.MatchAny(e.cfg.Exclude, full) {
			continue
		}
		who := fmt.Sprintf("(verifiedImages entry %s)", e.cfg.Name)
		if e.cfg.RequireDigest && ref.Digest == "" {
			msg := fmt.Sprintf("container %s: image %s is not pinned by digest %s", c.name, c.image, who)
			fix := "Refer to the image by digest: image@sha256:<digest>."
			if d, err := p.verifier.Resolve(ctx, c.image); err == nil {
				pinned := strings.SplitN(c.image, "@", 2)[0] + "@" + d
				msg += "; the tag points to " + d
				fix = "Pin the image by digest: " + pinned + "."
			}
			out = append(out, Violation{ID: VerifiedImagesID, Message: msg, Remediation: fix})
			continue
		}
		res, err := p.verifier.Verify(ctx, c.image, e.policy)
		if errors.Is(err, signature.ErrInvalidReference) {
			out = append(out, Violation{ID: VerifiedImagesID, Message: fmt.Sprintf("container %s: %v %s", c.name, err, who)})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: image %s: %w", c.name, c.image, err))
			continue
		}
		if res.Verified {
			continue
		}
		shown := c.image
		if ref.Digest == "" {
			shown += " (" + res.Digest + ")"
		}
		out = append(out, Violation{
			ID:      VerifiedImagesID,
			Message: fmt.Sprintf("container %s: image %s: %s %s", c.name, shown, res.Summary(), who),
			Remediation: fmt.Sprintf("Sign %s@%s with cosign (a key or keyless identity that entry %s trusts)%s, or use an image that is.",
				ref.Name(), res.Digest, e.cfg.Name, attestHint(res.Missing)),
		})
	}
	return out, errors.Join(errs...)
}

func attestHint(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return " and attest it (cosign attest --type " + strings.Join(missing, ", ") + ")"
}

var _ Policy = (*VerifiedImages)(nil)
