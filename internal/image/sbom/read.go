package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/kordon-dev/kordon/internal/image/inventory"
)

// MaxBytes bounds an SBOM read by Read.
const MaxBytes = 256 << 20

// Read reads a CycloneDX or SPDX JSON document into packages. Components
// without a purl and without Kordon's ecosystem property cannot be
// matched and are returned as errors naming them (the others are read).
func Read(r io.Reader) ([]inventory.Package, []error, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > MaxBytes {
		return nil, nil, fmt.Errorf("sbom larger than %d bytes", MaxBytes)
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, nil, fmt.Errorf("sbom: %w", err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return readCycloneDX(b)
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-2"):
		return readSPDX(b)
	}
	return nil, nil, errors.New("sbom: neither CycloneDX (bomFormat) nor SPDX 2 JSON (spdxVersion)")
}

func readCycloneDX(b []byte) ([]inventory.Package, []error, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, nil, fmt.Errorf("cyclonedx: %w", err)
	}
	var out []inventory.Package
	var errs []error
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			p := inventory.Package{Name: c.Name, Version: c.Version, PURL: c.PackageURL}
			if c.Properties != nil {
				for _, pr := range *c.Properties {
					switch pr.Name {
					case PropEcosystem:
						p.Ecosystem = pr.Value
					case PropPath:
						p.Path = pr.Value
					case PropLayer:
						p.Layer = pr.Value
					case PropSourceName:
						p.SourceName = pr.Value
					case PropSourceVersion:
						p.SourceVersion = pr.Value
					}
				}
			}
			if err := complete(&p); err != nil {
				errs = append(errs, fmt.Errorf("component %q (bom-ref %q): %w", c.Name, c.BOMRef, err))
			} else {
				out = append(out, p)
			}
			walk(c.Components)
		}
	}
	walk(bom.Components)
	return out, errs, nil
}

var sourceInfoRE = regexp.MustCompile(`^found in (.*) \(layer (.*)\); ecosystem ([^;]*)(?:; source (\S+)(?: (\S+))?)?$`)

func readSPDX(b []byte) ([]inventory.Package, []error, error) {
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("spdx: %w", err)
	}
	var out []inventory.Package
	var errs []error
	for _, sp := range doc.Packages {
		if sp.PrimaryPackagePurpose == "CONTAINER" || sp.PrimaryPackagePurpose == "OPERATING-SYSTEM" {
			continue
		}
		p := inventory.Package{Name: sp.PackageName, Version: sp.PackageVersion}
		for _, ref := range sp.PackageExternalReferences {
			if ref.RefType == "purl" {
				p.PURL = ref.Locator
			}
		}
		if m := sourceInfoRE.FindStringSubmatch(sp.PackageSourceInfo); m != nil {
			p.Path, p.Layer, p.Ecosystem, p.SourceName, p.SourceVersion = m[1], m[2], m[3], m[4], m[5]
		}
		if err := complete(&p); err != nil {
			errs = append(errs, fmt.Errorf("package %q (%s): %w", sp.PackageName, sp.PackageSPDXIdentifier, err))
			continue
		}
		out = append(out, p)
	}
	return out, errs, nil
}

// complete fills what the purl tells: type, and, for SBOMs of other
// tools, the ecosystem, the Go name and the OS source package.
func complete(p *inventory.Package) error {
	if p.PURL == "" {
		if p.Ecosystem == "" {
			return errors.New("no purl and no ecosystem: cannot be matched")
		}
		if p.Name == "" {
			return errors.New("no name: cannot be matched")
		}
		return nil
	}
	u, err := packageurl.FromString(p.PURL)
	if err != nil {
		return fmt.Errorf("purl: %w", err)
	}
	p.Type = u.Type
	q := u.Qualifiers.Map()
	if p.SourceName == "" {
		p.SourceName = q["source"]
		if p.SourceName == "" {
			p.SourceName = q["origin"]
		}
	}
	if p.Ecosystem != "" {
		if p.Name == "" {
			p.Name = u.Name
		}
		if p.Name == "" {
			return errors.New("no name: cannot be matched")
		}
		return nil
	}
	full := u.Name
	if u.Namespace != "" {
		full = u.Namespace + "/" + u.Name
	}
	switch u.Type {
	case "deb":
		p.Ecosystem = osEcosystem("Debian", q["distro"], false)
		if u.Namespace == "ubuntu" {
			p.Ecosystem = osEcosystem("Ubuntu", q["distro"], false)
		}
	case "apk":
		p.Ecosystem = osEcosystem("Alpine", q["distro"], true)
	case "golang":
		p.Ecosystem, p.Name = "Go", full
		if full == "stdlib" || full == "go" {
			p.Name = "stdlib"
		}
	case "pypi":
		p.Ecosystem = "PyPI"
	case "npm":
		p.Ecosystem, p.Name = "npm", full
	case "maven":
		p.Ecosystem, p.Name = "Maven", u.Namespace+":"+u.Name
	case "gem":
		p.Ecosystem = "RubyGems"
	case "cargo":
		p.Ecosystem = "crates.io"
	case "nuget":
		p.Ecosystem = "NuGet"
	default:
		return fmt.Errorf("purl type %q has no OSV ecosystem", u.Type)
	}
	if p.Version == "" {
		p.Version = u.Version
	}
	if p.Name == "" {
		p.Name = u.Name
	}
	if p.Name == "" {
		return errors.New("no name: cannot be matched")
	}
	return nil
}

// osEcosystem reads a purl distro qualifier ("debian-12", "12",
// "alpine-3.20.3", "3.20.3") into an OSV ecosystem.
func osEcosystem(name, distro string, minor bool) string {
	v := distro
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[i+1:]
	}
	parts := strings.Split(v, ".")
	if v == "" || parts[0] == "" || parts[0][0] < '0' || parts[0][0] > '9' {
		return name
	}
	if name == "Ubuntu" {
		return name + ":" + v
	}
	if minor {
		if len(parts) < 2 {
			return name
		}
		return name + ":v" + parts[0] + "." + parts[1]
	}
	return name + ":" + parts[0]
}
