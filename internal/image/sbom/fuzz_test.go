package sbom_test

import (
	"bytes"
	"testing"

	"github.com/kordon-dev/kordon/internal/image/inventory"
	"github.com/kordon-dev/kordon/internal/image/sbom"
)

// FuzzRead reads arbitrary CycloneDX and SPDX documents (seeded with
// Kordon's own output and other tools' purls): Read returns packages, an
// error, or both per component, never panics, and every package it
// returns has an ecosystem, a name and a version to match with.
func FuzzRead(f *testing.F) {
	pkgs := []inventory.Package{
		{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.11-1~deb12u2", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Path: "var/lib/dpkg/status"},
		{Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.7.0", Path: "usr/local/bin/app"},
	}
	for _, write := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return sbom.CycloneDX(b, subject, pkgs) },
		func(b *bytes.Buffer) error { return sbom.SPDX(b, subject, pkgs) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"busybox","version":"1.36.1-r28","purl":"pkg:apk/alpine/busybox@1.36.1-r28?distro=3.20.3","components":[{"name":"x","purl":"pkg:npm/%40scope/x@1.0.0"}]}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"log4j","versionInfo":"2.14.1","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, _, err := sbom.Read(bytes.NewReader(doc))
		if err != nil && len(got) > 0 {
			t.Fatalf("packages returned with a document error: %v", err)
		}
		for _, p := range got {
			if p.Ecosystem == "" || p.Name == "" {
				t.Fatalf("package without ecosystem or name: %+v", p)
			}
		}
	})
}
