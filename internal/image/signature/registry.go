package signature

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// artifactTypeBundle is the artifact type of sigstore bundles attached
// through the referrers API (any v0.x bundle media type is accepted).
const artifactTypeBundle = "application/vnd.dev.sigstore.bundle"

// mediaTypeEmpty is the OCI empty descriptor's media type, the config of
// artifacts such as bundles.
const mediaTypeEmpty = "application/vnd.oci.empty.v1+json"

// errTooLarge is returned when a registry response exceeds the limit.
var errTooLarge = errors.New("registry response larger than the limit")

// limitedTransport fails any response body that grows past max bytes, so
// that a hostile registry cannot make the webhook read without end.
type limitedTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %d bytes: %w (%d)", req.Method, req.URL.Redacted(), resp.ContentLength, errTooLarge, t.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, what: req.URL.Redacted()}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
	what string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%s: %w", b.what, errTooLarge)
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// notFound reports whether err is the registry saying that a manifest or
// tag does not exist (no signatures there), as opposed to a failure.
func notFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// session returns the remote options of one verification: every call
// shares one puller, so the registry is pinged and authenticated once (a
// ping first tries HTTPS, then HTTP for loopback and private registries).
func (v *Verifier) session(ctx context.Context) ([]remote.Option, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(v.keychain),
		remote.WithTransport(v.transport),
		remote.WithUserAgent("kordon-admission"),
		// One attempt: the admission deadline leaves no room for backoff.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return append(opts, remote.Reuse(p)), nil
}

// resolve returns the digest an image reference names, asking the
// registry for tags.
func (v *Verifier) resolve(opts []remote.Option, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	return ref.Context().Digest(desc.Digest.String()), nil
}

// layer is one layer of a signature or attestation manifest: its media
// type, annotations and content.
type layer struct {
	index       int // in the manifest
	mediaType   string
	annotations map[string]string
	content     []byte
}

// classicLayers reads the layers of cosign's sha256-<hex>.<suffix> tag.
// A missing tag is no layers, not an error.
func (v *Verifier) classicLayers(opts []remote.Option, d name.Digest, suffix string) ([]layer, error) {
	hex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	if hex == d.DigestStr() {
		return nil, fmt.Errorf("digest %s: only sha256 digests are supported", d.DigestStr())
	}
	tag := d.Context().Tag("sha256-" + hex + "." + suffix)
	img, err := remote.Image(tag, opts...)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	return v.imageLayers(img, tag.String())
}

// imageLayers reads at most maxSignatures layers of an image manifest, at
// once. Layers that fail are left out and reported; the others are kept.
func (v *Verifier) imageLayers(img v1.Image, what string) ([]layer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read %s: manifest: %w", what, err)
	}
	descs := m.Layers
	var errs []error
	if len(descs) > v.maxSignatures {
		errs = append(errs, fmt.Errorf("%s: %d layers, more than the limit of %d; the others are not read", what, len(descs), v.maxSignatures))
		descs = descs[:v.maxSignatures]
	}
	read := make([]layer, len(descs))
	failed := make([]error, len(descs))
	var wg sync.WaitGroup
	for i, l := range descs {
		if l.Size > v.maxResponse {
			failed[i] = fmt.Errorf("%s: layer %d (%s) is %d bytes: %w (%d)", what, i, l.Digest, l.Size, errTooLarge, v.maxResponse)
			continue
		}
		wg.Go(func() {
			rl, err := img.LayerByDigest(l.Digest)
			if err == nil {
				read[i].content, err = readLayer(rl, v.maxResponse)
			}
			if err != nil {
				failed[i] = fmt.Errorf("%s: layer %d (%s): %w", what, i, l.Digest, err)
				return
			}
			read[i].index, read[i].mediaType, read[i].annotations = i, string(l.MediaType), l.Annotations
		})
	}
	wg.Wait()
	var out []layer
	for i := range descs {
		if failed[i] != nil {
			errs = append(errs, failed[i])
			continue
		}
		out = append(out, read[i])
	}
	return out, errors.Join(errs...)
}

// readLayer reads a layer's blob as stored (cosign layers are not
// compressed), verifying its digest.
func readLayer(l v1.Layer, limit int64) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// referrerBundles reads the sigstore bundles attached to d through the
// referrers API or its tag fallback. A registry without referrers is no
// bundles, not an error.
func (v *Verifier) referrerBundles(opts []remote.Option, d name.Digest) ([][]byte, error) {
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	var out [][]byte
	var errs []error
	n := 0
	for _, desc := range im.Manifests {
		// Registries that ignore a manifest's artifactType report its
		// config's media type (the empty descriptor for bundles): read
		// those too, and keep the layers that are bundles.
		if !strings.HasPrefix(desc.ArtifactType, artifactTypeBundle) && desc.ArtifactType != "" && desc.ArtifactType != mediaTypeEmpty {
			continue
		}
		if n++; n > v.maxSignatures {
			errs = append(errs, fmt.Errorf("referrers of %s: more than %d candidate bundles; the others are not read", d, v.maxSignatures))
			break
		}
		ref := d.Context().Digest(desc.Digest.String())
		img, err := remote.Image(ref, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("read bundle %s: %w", ref, err))
			continue
		}
		layers, err := v.imageLayers(img, "bundle "+ref.String())
		if err != nil {
			errs = append(errs, err)
		}
		for _, l := range layers {
			if strings.HasPrefix(l.mediaType, artifactTypeBundle) {
				out = append(out, l.content)
			}
		}
	}
	return out, errors.Join(errs...)
}
