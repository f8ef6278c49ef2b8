package transform

import (
	"math/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// regressionValues returns the query and body values of CRS v4.25.0's regression tests: each
// test's uri query and data split at '&' and '=', every part both as written and URL-decoded
// (what Coraza's ARGS hold), deduplicated.
func regressionValues(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(crsDir(t), "tests"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("find CRS regression tests: %v (%d files)", err, len(files))
	}
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	addQuery := func(q string) {
		for _, kv := range strings.Split(q, "&") {
			for _, part := range strings.SplitN(kv, "=", 2) {
				add(part)
				if d, err := url.QueryUnescape(part); err == nil {
					add(d)
				}
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			continue // a few files are not plain YAML; a rough extraction is enough
		}
		walkYAML(doc, func(key, v string) {
			switch key {
			case "uri":
				if i := strings.IndexByte(v, '?'); i >= 0 {
					addQuery(v[i+1:])
				}
				addQuery(v)
			case "data", "encoded_request":
				addQuery(v)
				add(v)
			}
		})
	}
	return out
}

func walkYAML(n any, fn func(key, v string)) {
	switch n := n.(type) {
	case map[string]any:
		for k, v := range n {
			switch v := v.(type) {
			case string:
				fn(k, v)
			case []any:
				if k == "data" {
					var parts []string
					for _, p := range v {
						if s, ok := p.(string); ok {
							parts = append(parts, s)
						}
					}
					fn(k, strings.Join(parts, "\r\n"))
				}
			}
			walkYAML(v, fn)
		}
	case []any:
		for _, v := range n {
			walkYAML(v, fn)
		}
	}
}

// hostileValues are hand-written edge cases for every transformation.
func hostileValues() []string {
	vs := []string{
		"", "a", "A", "\x00", "\x00\x00a\x00", " ", "  \t\n\r\f\v  ", "\xa0", "\xc2\xa0", "\xc2\x85", "a\xa0b", "\xe4\xa0", "à Å ą 你",
		// URL encodings
		"%", "%%", "%2", "%20", "%2g", "%u", "%u1", "%u12", "%u123", "%u1234", "%U0041", "%uff41", "%uFF01", "%uff5e", "%uff5f", "%uff00",
		"%u00a0", "%u2018%u2019", "%u201c", "%u0000", "%uzzzz", "%u12%41", "+", "a+b", "%2B", "%%41", "%u%41", "%%u0041", "%c0%af", "%e0%80%af",
		"..%c0%af..%c0%af", "%252e%252e%252f", "%00", "a%0", "%ff%FE%Fe",
		// JavaScript and C escapes
		`\`, `a\`, `\\`, `\x`, `\x4`, `\x41`, `\X41`, `\xg1`, `\u`, `\u004`, `\u0041`, `\uff21`, `\uFF21`, `\uFf5f`, `\u{41}`, `\u{}`,
		`\u{0ff01}`, `\u{ff01}`, `\u{1F600}`, `\u{1234567}`, `\u{41`, `\u{10ffff}`, `\0`, `\00`, `\000`, `\7`, `\77`, `\777`, `\477`, `\400`,
		`\3777`, `\8`, `\a\b\f\n\r\t\v\?\'\"\\`, `\q`, "\\\n", `\x41\`, `\u0041\u`, `\101\102`,
		// CSS escapes
		`\0 `, `\00000041`, `\41 b`, `\41\tb`, `\ff01`, `\FF5E`, `\d800`, `\110000`, `\ffffff`, `\e9`, `\g`, "a\\\nb", `\ `, `\61\62\63`,
		// HTML entities
		"&", "&;", "&#", "&#;", "&#x;", "&#x41;", "&#65;", "&#65", "&#X41", "&#99999999;", "&#0;", "&#128;", "&#x80;", "&#xd800;",
		"&#x110000;", "&lt;", "&lt", "&LT;", "&amp;lt;", "&notit;", "&notin;", "&not", "&NotEqualTilde;", "&xyz;", "&quot&gt",
		"&#x00000000041;", "&#00000000065;", "&nbsp;&nbsp", "&AElig", "&frac12;", "&acE;",
		// comments and command lines
		"/*", "/**/", "/*x*/", "a/*b*/c", "a/*b", "*/", "/*/", "<!--", "<!-- x -->y", "-->", "--", "a--b", "#", "a#b", "1/*!union*/select",
		"/*x*//*y*/", "/*x*/--z", "<!--a-->", "<!--a--", `c"a't\ ^m d`, "cat   /etc/passwd", "a ;, b", "echo (x) /y", "A B\tC\r\nD",
		// paths
		".", "..", "/", "//", "./", "../", "/./", "/..", "a/./b/../c", "a//b/", "/a/b/..", "..\\..\\windows\\win.ini", "C:\\a\\b.txt.",
		"c:file.txt::$DATA", "a/b.txt:stream", "a/b:c/d:e", "file.txt .", "a/ /b", "a/. ./b", "a/.../b", "\\\\server\\share\\", "C:", "C:/",
		"x:/a:b/", "/a:b/", "...", "a.", "a ", " ", "./.", "/ ", "a/b/ . /",
		// base64 and hex
		"QQ==", "QUI=", "QUJD", "Q", "QQ", "QUJ", "QU JD", "QU\nJD", "QU.JD", "Q-_A", "QU\x00JD", "\xffQUJD", "YWJj\tZGVm", "4142", "41g2", "414",
		// mixed and long
		"SeLeCt", "ÀÉÎ", "\xff\xfe", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80\xaf", "ǅ", "İ", "Ⅻ", "\u2028\u3000\u1680",
	}
	long := strings.Repeat(`%u0041\x41&lt;/*a*/ \u{41}`, 2000)
	vs = append(vs, long, strings.Repeat("a", 70000), strings.Repeat("\\", 5001), strings.Repeat("%", 4097), strings.Repeat("/../", 3000))
	return vs
}

// randomValues are n random strings drawn from bytes that transformations react to, deterministic
// for a seed.
func randomValues(seed int64, n int) []string {
	r := rand.New(rand.NewSource(seed))
	const alphabet = "%+uUxX{}\\&#;/*<!->.:0123456789abcdefABCDEF \t\n\r\v\f\x00\"'^,()=_ltgqu"
	out := make([]string, n)
	for i := range out {
		b := make([]byte, r.Intn(24))
		for j := range b {
			switch r.Intn(8) {
			case 0:
				b[j] = byte(r.Intn(256))
			default:
				b[j] = alphabet[r.Intn(len(alphabet))]
			}
		}
		out[i] = string(b)
	}
	return out
}
