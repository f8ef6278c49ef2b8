// Package sbom writes an image inventory as a software bill of materials
// — CycloneDX 1.6 JSON (github.com/CycloneDX/cyclonedx-go) or SPDX 2.3
// JSON (github.com/spdx/tools-golang) — with a purl per package, and reads
// such documents back into an inventory so that an existing SBOM can be
// matched against vulnerability data without the image.
//
// Kordon's own SBOMs carry each package's OSV ecosystem, source package,
// path and layer as properties (CycloneDX "kordon:*" properties, SPDX
// sourceInfo and a purl), so that reading them back is exact. For SBOMs of
// other tools the ecosystem is derived from the purl (type and distro
// qualifier).
package sbom

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/kordon-dev/kordon/internal/image/inventory"
)

// Subject describes the scanned image.
type Subject struct {
	// Name is the reference or path the user gave; Digest the manifest
	// digest.
	Name, Digest string
	// Tool names the producer ("kordon v1.2.3").
	Tool, ToolVersion string
	// Now is the creation time written in the document.
	Now time.Time
}

// Property names of CycloneDX components written by Kordon.
const (
	PropEcosystem     = "kordon:ecosystem"
	PropSourceName    = "kordon:source_name"
	PropSourceVersion = "kordon:source_version"
	PropPath          = "kordon:path"
	PropLayer         = "kordon:layer"
)

// CycloneDX writes pkgs as a CycloneDX 1.6 JSON document.
func CycloneDX(w io.Writer, s Subject, pkgs []inventory.Package) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuidFrom(s.Digest+s.Name)
	bom.Metadata = &cdx.Metadata{
		Timestamp: s.Now.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: s.Tool, Version: s.ToolVersion}}},
		Component: &cdx.Component{
			BOMRef: "image", Type: cdx.ComponentTypeContainer, Name: s.Name, Version: s.Digest,
		},
	}
	comps := make([]cdx.Component, 0, len(pkgs))
	refs := make([]string, 0, len(pkgs))
	seen := map[string]int{}
	for _, p := range pkgs {
		ref := p.PURL
		if ref == "" {
			ref = p.Ecosystem + "/" + p.Name + "@" + p.Version
		}
		ref += "#" + p.Path
		if n := seen[ref]; n > 0 {
			ref = fmt.Sprintf("%s-%d", ref, n)
		}
		seen[ref]++
		props := []cdx.Property{{Name: PropEcosystem, Value: p.Ecosystem}, {Name: PropPath, Value: p.Path}, {Name: PropLayer, Value: p.Layer}}
		if p.SourceName != "" {
			props = append(props, cdx.Property{Name: PropSourceName, Value: p.SourceName})
		}
		if p.SourceVersion != "" {
			props = append(props, cdx.Property{Name: PropSourceVersion, Value: p.SourceVersion})
		}
		comps = append(comps, cdx.Component{
			BOMRef: ref, Type: componentType(p), Name: p.Name, Version: p.Version, PackageURL: p.PURL, Properties: &props,
		})
		refs = append(refs, ref)
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: "image", Dependencies: &refs}}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("write cyclonedx: %w", err)
	}
	return nil
}

func componentType(p inventory.Package) cdx.ComponentType {
	if p.Type == "golang" && p.Name == "stdlib" {
		return cdx.ComponentTypeFramework
	}
	return cdx.ComponentTypeLibrary
}

// SPDX writes pkgs as an SPDX 2.3 JSON document: the image is the package
// the document describes, and it CONTAINS every package found.
func SPDX(w io.Writer, s Subject, pkgs []inventory.Package) error {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      s.Name,
		DocumentNamespace: "https://kordon.dev/spdx/" + uuidFrom(s.Digest+s.Name),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: strings.TrimSpace(s.Tool + "-" + s.ToolVersion)}},
			Created:  s.Now.UTC().Format(time.RFC3339),
		},
	}
	image := &spdx.Package{
		PackageName: s.Name, PackageSPDXIdentifier: "Image", PackageVersion: s.Digest,
		PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "CONTAINER",
	}
	doc.Packages = append(doc.Packages, image)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", "Image"), Relationship: "DESCRIBES",
	})
	for i, p := range pkgs {
		id := common.ElementID(fmt.Sprintf("Package-%d", i+1))
		sp := &spdx.Package{
			PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
			PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "LIBRARY",
			PackageSourceInfo: sourceInfo(p),
		}
		if p.PURL != "" {
			sp.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: p.PURL}}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", "Image"), RefB: common.MakeDocElementID("", string(id)), Relationship: "CONTAINS",
		})
	}
	if err := spdxjson.Write(doc, w, spdxjson.Indent("  ")); err != nil {
		return fmt.Errorf("write spdx: %w", err)
	}
	return nil
}

// sourceInfo records where the package was found, in a form Read parses:
// "found in PATH (layer DIGEST); ecosystem ECO; source NAME VERSION".
func sourceInfo(p inventory.Package) string {
	s := fmt.Sprintf("found in %s (layer %s); ecosystem %s", p.Path, p.Layer, p.Ecosystem)
	if p.SourceName != "" {
		s += "; source " + strings.TrimSpace(p.SourceName+" "+p.SourceVersion)
	}
	return s
}

// uuidFrom makes a stable name-based UUID (RFC 9562 version 5 layout, from
// a SHA-256 of s), so that the same image gives the same serial number.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
