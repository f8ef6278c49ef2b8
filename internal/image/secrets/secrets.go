// Package secrets finds hard-coded credentials in the files of an image's
// final filesystem with osv-scalibr's Veles detectors (private keys, cloud
// and SaaS API keys and tokens). Only offline
// detection runs: a secret is never sent anywhere to check whether it is
// live. A found secret is reported by kind, path, layer and line, with a
// fingerprint (a hash prefix) instead of its value.
//
// A Scanner is safe for concurrent use; Finds collects results.
package secrets

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/osv-scalibr/veles"
	"github.com/google/osv-scalibr/veles/secrets/anthropicapikey"
	"github.com/google/osv-scalibr/veles/secrets/awsaccesskey"
	"github.com/google/osv-scalibr/veles/secrets/dockerhubpat"
	"github.com/google/osv-scalibr/veles/secrets/gcpapikey"
	"github.com/google/osv-scalibr/veles/secrets/gcpsak"
	"github.com/google/osv-scalibr/veles/secrets/github"
	"github.com/google/osv-scalibr/veles/secrets/gitlabpat"
	"github.com/google/osv-scalibr/veles/secrets/hashicorpvault"
	"github.com/google/osv-scalibr/veles/secrets/huggingfaceapikey"
	"github.com/google/osv-scalibr/veles/secrets/npmjsaccesstoken"
	"github.com/google/osv-scalibr/veles/secrets/openai"
	"github.com/google/osv-scalibr/veles/secrets/privatekey"
	"github.com/google/osv-scalibr/veles/secrets/pypiapitoken"
	"github.com/google/osv-scalibr/veles/secrets/sendgrid"
	"github.com/google/osv-scalibr/veles/secrets/slacktoken"
	"github.com/google/osv-scalibr/veles/secrets/stripeapikeys"

	"github.com/kordon-dev/kordon/internal/image/layers"
)

// Find is one secret found.
type Find struct {
	// Kind names the secret's type ("privatekey.PrivateKey").
	Kind  string `json:"kind"`
	Path  string `json:"path"`
	Layer string `json:"layer"`
	Line  int    `json:"line"`
	// Fingerprint is the first 16 hex digits of the SHA-256 of the
	// secret's value: the same secret gives the same fingerprint, and the
	// value cannot be read from it.
	Fingerprint string `json:"fingerprint"`
}

// Scanner detects secrets in file contents.
type Scanner struct {
	detectors []veles.Detector
	mu        sync.Mutex
	finds     []Find
}

// New returns a scanner with the offline detectors.
func New() *Scanner {
	return &Scanner{detectors: []veles.Detector{
		privatekey.NewDetector(), awsaccesskey.NewDetector(), gcpsak.NewDetector(), gcpapikey.NewDetector(),
		github.NewClassicPATDetector(), github.NewFineGrainedPATDetector(), github.NewOAuthTokenDetector(), github.NewAppRefreshTokenDetector(),
		gitlabpat.NewDetector(), slacktoken.NewAppLevelTokenDetector(), slacktoken.NewAppConfigAccessTokenDetector(),
		stripeapikeys.NewSecretKeyDetector(), stripeapikeys.NewRestrictedKeyDetector(), stripeapikeys.NewWebhookSecretDetector(),
		openai.NewDetector(), anthropicapikey.NewDetector(), huggingfaceapikey.NewDetector(), sendgrid.NewDetector(),
		npmjsaccesstoken.NewDetector(), pypiapitoken.NewDetector(), dockerhubpat.NewDetector(),
		hashicorpvault.NewTokenDetector(),
	}}
}

// textExtensions and names are the files read: configuration, source,
// keys and credential files (osv-scalibr's secret extractor's list, plus
// well-known credential file names).
var (
	textExtensions = []string{".cfg", ".conf", ".env", ".ini", ".json", ".yaml", ".yml", ".toml", ".xml", ".properties",
		".py", ".js", ".ts", ".sh", ".txt", ".pem", ".key", ".crt", ".p8", ".npmrc", ".pypirc", ".netrc", ".git-credentials"}
	credentialNames = []string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc", ".pypirc", ".netrc", ".git-credentials",
		"credentials", ".env", "config.json", ".dockercfg"}
	// skipDirs hold library code and documentation whose test fixtures
	// carry sample keys; a secret there is not the image's own.
	skipDirs  = []string{"usr/share/", "usr/lib/", "usr/include/"}
	skipParts = []string{"/node_modules/", "/site-packages/", "/dist-packages/", "/testdata/", "/test/", "/tests/"}
)

// Want selects the files to read.
func Want(p string, info fs.FileInfo) bool {
	if info.Size() == 0 {
		return false
	}
	for _, d := range skipDirs {
		if strings.HasPrefix(p, d) {
			return false
		}
	}
	for _, s := range skipParts {
		if strings.Contains("/"+p, s) {
			return false
		}
	}
	base := path.Base(p)
	return slices.Contains(credentialNames, base) || slices.Contains(textExtensions, strings.ToLower(path.Ext(base)))
}

// Inspector returns the layers.Inspector that feeds the scanner.
func (s *Scanner) Inspector() *layers.Inspector {
	return &layers.Inspector{Want: Want, Inspect: s.Inspect}
}

// Inspect detects the secrets in one file's contents.
func (s *Scanner) Inspect(p string, layer v1.Hash, data []byte) {
	var found []Find
	for _, d := range s.detectors {
		secs, pos := d.Detect(data)
		for i, sec := range secs {
			line := 0
			if i < len(pos) && pos[i] >= 0 && pos[i] <= len(data) {
				line = bytes.Count(data[:pos[i]], []byte("\n")) + 1
			}
			sum := sha256.Sum256(fmt.Appendf(nil, "%v", sec))
			found = append(found, Find{Kind: kind(sec), Path: p, Layer: layer.String(), Line: line, Fingerprint: fmt.Sprintf("%x", sum[:8])})
		}
	}
	s.mu.Lock()
	s.finds = append(s.finds, found...)
	s.mu.Unlock()
}

func kind(sec veles.Secret) string {
	t := reflect.TypeOf(sec)
	if t == nil {
		return "unknown"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	return pkg[strings.LastIndexByte(pkg, '/')+1:] + "." + t.Name()
}

// Finds returns the secrets found so far, sorted by path, line and kind,
// one per kind and place.
func (s *Scanner) Finds() []Find {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.finds)
	slices.SortFunc(out, func(a, b Find) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return slices.Compact(out)
}
