package rxfilter

import (
	"bufio"
	"encoding/base64"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"go.yaml.in/yaml/v3"

	"github.com/kordon-dev/kordon/internal/waf/crstest"
)

// crsRule is one @rx operator of the Core Rule Set, roughly extracted.
type crsRule struct {
	ID      string
	Pattern string // as Coraza compiles it: "(?sm)" + argument
}

var (
	crsOnce     sync.Once
	crsRules    []crsRule
	crsPhrases  []string
	crsPayloads []string
	crsErr      error
)

// loadCRS reads the CRS rules' @rx patterns and .data phrases from the
// embedded rule set and the regression tests' payloads.
func loadCRS(t testing.TB) ([]crsRule, []string, []string) {
	t.Helper()
	crsOnce.Do(func() {
		crsErr = fs.WalkDir(coreruleset.FS, "@owasp_crs", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(coreruleset.FS, p)
			if err != nil {
				return err
			}
			switch path.Ext(p) {
			case ".conf":
				crsRules = append(crsRules, rxOperators(string(data))...)
			case ".data":
				crsPhrases = append(crsPhrases, dataPhrases(string(data))...)
			}
			return nil
		})
		if crsErr != nil {
			return
		}
		var tests []crstest.Test
		tests, crsErr = crstest.Load()
		crsPayloads = payloads(tests)
	})
	if crsErr != nil {
		t.Fatalf("load CRS: %v", crsErr)
	}
	if len(crsRules) < 200 || len(crsPhrases) < 1000 || len(crsPayloads) < 3000 {
		t.Fatalf("load CRS: only %d rx rules, %d phrases, %d payloads", len(crsRules), len(crsPhrases), len(crsPayloads))
	}
	return crsRules, crsPhrases, crsPayloads
}

var ruleIDRe = regexp.MustCompile(`\bid:(\d+)`)

// rxOperators finds the operator strings "@rx ARG" and "!@rx ARG" (and bare
// patterns without an operator) of SecRule lines.
func rxOperators(conf string) []crsRule {
	var out []crsRule
	lastID := "?"
	lines := strings.Split(conf, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "SecRule ") {
			continue
		}
		q := strings.IndexByte(line, '"')
		if q < 0 {
			continue
		}
		arg, ok := quoted(line[q+1:])
		if !ok {
			continue
		}
		arg = strings.TrimPrefix(arg, "!")
		switch {
		case strings.HasPrefix(arg, "@rx "):
			arg = arg[len("@rx "):]
		case strings.HasPrefix(arg, "@"):
			continue
		}
		// The rule's id is in its own directive (up to a line without a
		// trailing backslash); a chained rule has none and takes its
		// parent's.
		id := ""
		for _, l := range lines[i:] {
			if m := ruleIDRe.FindStringSubmatch(l); m != nil {
				id = m[1]
				break
			}
			if !strings.HasSuffix(strings.TrimSpace(l), "\\") {
				break
			}
		}
		if id == "" {
			id = lastID + "-chain"
		} else {
			lastID = id
		}
		out = append(out, crsRule{ID: id, Pattern: "(?sm)" + arg})
	}
	return out
}

// quoted returns the text up to the first unescaped double quote, with \"
// unescaped.
func quoted(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte(s[i])
			b.WriteByte(s[i+1])
			i++
		case s[i] == '"':
			return b.String(), true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", false
}

func dataPhrases(data string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// payloads extracts, roughly, the values a regression test sends: URI,
// query arguments, body, body arguments, header values, encoded requests;
// each as sent, percent-decoded once and twice, and lowercased.
func payloads(tests []crstest.Test) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		for _, v := range []string{s, pctDecode(s), pctDecode(pctDecode(s))} {
			for _, w := range []string{v, strings.ToLower(v), Lower(v)} {
				if w != "" && !seen[w] {
					seen[w] = true
					out = append(out, w)
				}
			}
		}
	}
	addArgs := func(s string) {
		add(s)
		for _, kv := range strings.Split(s, "&") {
			k, v, _ := strings.Cut(kv, "=")
			add(k)
			add(v)
		}
	}
	for _, t := range tests {
		for _, st := range t.Stages {
			in := st.Input
			if in.URI != nil {
				u := *in.URI
				add(u)
				if _, q, ok := strings.Cut(u, "?"); ok {
					addArgs(q)
				}
			}
			if in.Data != nil {
				addArgs(*in.Data)
			}
			if in.EncodedRequest != "" {
				if raw, err := base64.StdEncoding.DecodeString(in.EncodedRequest); err == nil {
					add(string(raw))
				}
			}
			h := in.Headers
			if h.Kind == yaml.MappingNode {
				for i := 1; i < len(h.Content); i += 2 {
					add(h.Content[i].Value)
					for _, c := range strings.Split(h.Content[i].Value, ";") {
						_, v, _ := strings.Cut(c, "=")
						add(strings.TrimSpace(v))
					}
				}
			}
		}
	}
	return out
}

// pctDecode decodes %XX escapes and '+' leniently (bad escapes stay).
func pctDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '+':
			b.WriteByte(' ')
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(byte(hexVal(s[i+1])*16 + hexVal(s[i+2])))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// benignValues are the values of a benign browser request as CRS sees them.
var benignValues = []string{
	"GET /products/shoes/running?color=blue&size=42&sort=price_asc HTTP/1.1",
	"/products/shoes/running",
	"color=blue&size=42&sort=price_asc",
	"blue", "42", "price_asc", "color", "size", "sort",
	"shop.example.com",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
	"gzip, deflate, br, zstd",
	"en-US,en;q=0.9,de;q=0.8",
	"https://shop.example.com/products/shoes?page=2",
	"_ga=GA1.2.1234567890.1699999999; sessionid=8f14e45fceea167a5a36dedd4bea2543; cart=3; theme=dark",
	"GA1.2.1234567890.1699999999", "8f14e45fceea167a5a36dedd4bea2543", "3", "dark",
	"_ga", "sessionid", "cart", "theme",
	"max-age=0", "keep-alive", "document", "navigate", "same-origin", "?1",
	`"Chromium";v="126", "Google Chrome";v="126", "Not-A.Brand";v="99"`, `"Windows"`,
}

var compiled sync.Map // pattern → *regexp.Regexp

func mustCompile(p string) *regexp.Regexp {
	if re, ok := compiled.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	compiled.Store(p, re)
	return re
}

// sample is how many of n inputs a heavy test tries: all of them normally,
// fewer with -short, fewer still under the race detector.
func sample(n int) int {
	switch {
	case raceEnabled:
		return max(1, n/50)
	case testing.Short():
		return max(1, n/10)
	}
	return n
}
