package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kordon-dev/kordon/internal/image"
	"github.com/kordon-dev/kordon/internal/image/imagetest"
	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/sbom"
)

func TestMain(m *testing.M) {
	inventory.QuietLibraryLogs()
	os.Exit(m.Run())
}

// scanned inventories an image whose upper layer deletes a Go binary and
// replaces the dpkg database: the SBOM must list only what remains.
func scanned(t *testing.T) []inventory.Package {
	t.Helper()
	f := imagetest.File
	img := imagetest.Image(t,
		imagetest.Layer(t,
			f("etc/os-release", imagetest.OSRelease("debian", "12")),
			f("var/lib/dpkg/status", imagetest.DpkgStatus(imagetest.Deb{Name: "gone", Version: "1.0-1"})),
			imagetest.Exec("usr/bin/deleted", imagetest.GoBinary(t, "go1.21.0", imagetest.Module{Path: "example.com/deleted", Version: "v1.0.0"})),
		),
		imagetest.Layer(t,
			f("var/lib/dpkg/status", imagetest.DpkgStatus(
				imagetest.Deb{Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl"},
				imagetest.Deb{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"},
			)),
			imagetest.Whiteout("usr/bin/deleted"),
			imagetest.Exec("usr/local/bin/app", imagetest.GoBinary(t, "go1.20.1", imagetest.Module{Path: "golang.org/x/net", Version: "v0.7.0"})),
		),
	)
	res, err := image.Inventory(context.Background(), img, image.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Packages
}

var subject = sbom.Subject{Name: "registry.example/app:1.0", Digest: "sha256:0123", Tool: "kordon", ToolVersion: "test", Now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}

func moduleDir(t *testing.T, mod string) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

// TestCycloneDXSchema validates the document against the official
// CycloneDX 1.6 JSON schema, as shipped in the cyclonedx-go module
// (schema/bom-1.6.schema.json with the spdx and jsf schemas it refers to).
func TestCycloneDXSchema(t *testing.T) {
	pkgs := scanned(t)
	var buf bytes.Buffer
	if err := sbom.CycloneDX(&buf, subject, pkgs); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(moduleDir(t, "github.com/CycloneDX/cyclonedx-go"), "schema")
	c := jsonschema.NewCompiler()
	for url, file := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schemax.json", // the module's file name
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	schema, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("invalid CycloneDX 1.6: %v\n%s", err, buf.String())
	}
	var doc struct {
		SpecVersion string
		Components  []struct{ Purl string }
	}
	json.Unmarshal(buf.Bytes(), &doc)
	var purls []string
	for _, c := range doc.Components {
		purls = append(purls, c.Purl)
	}
	want := []string{
		"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=12&source=openssl",
		"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=12&source=zlib",
		"pkg:golang/golang.org/x/net@0.7.0",
	}
	for _, w := range want {
		if !slices.Contains(purls, w) {
			t.Errorf("no component %s in %v", w, purls)
		}
	}
	for _, p := range purls {
		if strings.Contains(p, "deleted") || strings.Contains(p, "/gone@") {
			t.Errorf("component of a deleted or replaced file: %s", p)
		}
	}
	if doc.SpecVersion != "1.6" {
		t.Errorf("specVersion %q", doc.SpecVersion)
	}
	roundTrip(t, buf.Bytes(), pkgs)
}

// TestSPDX checks the SPDX 2.3 document's required fields (clause 6 and 7
// of the specification) and reads it back with tools-golang's parser.
func TestSPDX(t *testing.T) {
	pkgs := scanned(t)
	var buf bytes.Buffer
	if err := sbom.SPDX(&buf, subject, pkgs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion       string `json:"spdxVersion"`
		DataLicense       string `json:"dataLicense"`
		SPDXID            string `json:"SPDXID"`
		Name              string `json:"name"`
		DocumentNamespace string `json:"documentNamespace"`
		CreationInfo      struct {
			Creators []string `json:"creators"`
			Created  string   `json:"created"`
		} `json:"creationInfo"`
		Packages []struct {
			SPDXID           string `json:"SPDXID"`
			Name             string `json:"name"`
			DownloadLocation string `json:"downloadLocation"`
			ExternalRefs     []struct {
				ReferenceCategory, ReferenceType, ReferenceLocator string
			} `json:"externalRefs"`
		} `json:"packages"`
		Relationships []struct{ RelationshipType string } `json:"relationships"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" ||
		!strings.HasPrefix(doc.DocumentNamespace, "https://") || doc.CreationInfo.Created != "2026-12-04T10:00:00Z" ||
		len(doc.CreationInfo.Creators) != 1 || !strings.HasPrefix(doc.CreationInfo.Creators[0], "Tool: ") {
		t.Errorf("document fields: %+v", doc)
	}
	purls := 0
	for _, p := range doc.Packages {
		if !strings.HasPrefix(p.SPDXID, "SPDXRef-") || p.DownloadLocation == "" || p.Name == "" {
			t.Errorf("package fields: %+v", p)
		}
		for _, r := range p.ExternalRefs {
			if r.ReferenceCategory == "PACKAGE-MANAGER" && r.ReferenceType == "purl" && strings.HasPrefix(r.ReferenceLocator, "pkg:") {
				purls++
			}
		}
	}
	if purls != len(pkgs) || len(doc.Packages) != len(pkgs)+1 {
		t.Errorf("%d purls, %d packages for %d found", purls, len(doc.Packages), len(pkgs))
	}
	roundTrip(t, buf.Bytes(), pkgs)
}

// TestSPDXSchema validates the document against the official SPDX 2.3
// JSON schema (testdata/spdx-2.3.schema.json; its .SOURCE file says where
// it comes from), and checks that the schema refuses a document without
// the fields SPDX requires, so that the validation can fail.
func TestSPDXSchema(t *testing.T) {
	pkgs := scanned(t)
	var buf bytes.Buffer
	if err := sbom.SPDX(&buf, subject, pkgs); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "spdx-2.3.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("http://spdx.org/rdf/terms/2.3", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("http://spdx.org/rdf/terms/2.3")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("invalid SPDX 2.3: %v\n%s", err, buf.String())
	}
	// The same document without creationInfo, and with a package lacking
	// downloadLocation, is refused.
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "creationInfo")
	delete(m["packages"].([]any)[0].(map[string]any), "downloadLocation")
	if err := schema.Validate(any(m)); err == nil || !strings.Contains(err.Error(), "creationInfo") || !strings.Contains(err.Error(), "downloadLocation") {
		t.Errorf("schema accepted a document without creationInfo and downloadLocation: %v", err)
	}
}

func roundTrip(t *testing.T, doc []byte, want []inventory.Package) {
	t.Helper()
	got, errs, err := sbom.Read(bytes.NewReader(doc))
	if err != nil || len(errs) > 0 {
		t.Fatalf("read back: %v %v", err, errs)
	}
	key := func(p inventory.Package) string {
		return strings.Join([]string{p.Name, p.Version, p.Ecosystem, p.SourceName, p.Path, p.Layer, p.PURL}, "|")
	}
	var g, w []string
	for _, p := range got {
		g = append(g, key(p))
	}
	for _, p := range want {
		w = append(w, key(p))
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("read back:\ngot  %q\nwant %q", g, w)
	}
}

// TestReadForeign reads purls as other tools write them.
func TestReadForeign(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
{"type":"library","name":"libssl3","version":"3.0.11-1~deb12u2","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl","properties":[]},
{"type":"library","name":"busybox","version":"1.36.1-r28","purl":"pkg:apk/alpine/busybox@1.36.1-r28?distro=3.20.3"},
{"type":"library","name":"net","version":"v0.7.0","purl":"pkg:golang/golang.org/x/net@v0.7.0"},
{"type":"library","name":"log4j-core","version":"2.14.1","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
{"type":"library","name":"nopurl","version":"1"}]}`
	got, errs, err := sbom.Read(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.Ecosystem+" "+p.Name+" "+p.Version)
	}
	want := []string{"Debian:12 libssl3 3.0.11-1~deb12u2", "Alpine:v3.20 busybox 1.36.1-r28", "Go golang.org/x/net v0.7.0", "Maven org.apache.logging.log4j:log4j-core 2.14.1"}
	if !slices.Equal(s, want) {
		t.Errorf("got %q\nwant %q", s, want)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "nopurl") {
		t.Errorf("errors %v", errs)
	}
}
