package transform

import (
	"path"
	"strings"
)

// normalizePath resolves "." and ".." segments and collapses repeated slashes (lexically, as
// path.Clean does), keeping a trailing slash; a path that resolves to "." becomes "". changed
// reports that the output differs from the input, except that a resolution to "" always reports
// a change.
func normalizePath(s string) (string, bool, error) {
	if s == "" {
		return s, false, nil
	}
	if !needsClean(s) {
		return s, false, nil
	}
	clean := path.Clean(s)
	if clean == "." {
		return "", true, nil
	}
	if s[len(s)-1] == '/' {
		clean += "/"
	}
	return clean, clean != s, nil
}

// needsClean reports whether path.Clean could change s or return ".": that is, unless s is
// non-empty, has no "." or ".." segment, no empty segment, and no trailing slash.
func needsClean(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '/' {
			continue
		}
		seg := s[start:i]
		if seg == "." || seg == ".." || (seg == "" && i > 0) {
			return true
		}
		start = i + 1
	}
	return false
}

// normalizePathWin is normalizePath after turning backslashes into slashes, followed by what
// Windows does when it opens a path: the last segment loses an NTFS alternate data stream suffix
// (from its first ':', a drive prefix "X:" excepted), and every segment that is not only dots
// loses its trailing dots and spaces (a segment left empty disappears). changed reports that the
// output differs from the input.
func normalizePathWin(s string) (string, bool, error) {
	if s == "" {
		return s, false, nil
	}
	p, _, _ := normalizePath(strings.ReplaceAll(s, `\`, "/"))
	p = trimSegments(stripStream(p))
	return p, p != s, nil
}

// stripStream cuts the last segment of p at its first ':'.
func stripStream(p string) string {
	drive := ""
	if len(p) >= 2 && p[1] == ':' && ((p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z') {
		drive, p = p[:2], p[2:]
	}
	slash := ""
	if strings.HasSuffix(p, "/") {
		slash, p = "/", p[:len(p)-1]
	}
	last := strings.LastIndexByte(p, '/') + 1
	if c := strings.IndexByte(p[last:], ':'); c >= 0 {
		p = p[:last+c]
	}
	return drive + p + slash
}

// trimSegments removes trailing dots and spaces from every segment of p that is not only dots
// (the empty segment counts as only dots) and drops a segment this leaves empty.
func trimSegments(p string) string {
	if !strings.Contains(p, ". ") && !strings.Contains(p, "./") && !strings.Contains(p, " /") &&
		!strings.HasSuffix(p, ".") && !strings.HasSuffix(p, " ") {
		return p // no segment ends in a dot or a space
	}
	segs := strings.Split(p, "/")
	kept := segs[:0]
	trimmed := false
	for _, seg := range segs {
		if strings.Trim(seg, ".") != "" {
			t := strings.TrimRight(seg, ". ")
			if len(t) != len(seg) {
				trimmed = true
			}
			if t == "" {
				continue
			}
			seg = t
		}
		kept = append(kept, seg)
	}
	if !trimmed {
		return p
	}
	return strings.Join(kept, "/")
}
