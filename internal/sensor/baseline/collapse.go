package baseline

import (
	"strings"
)

// Collapse turns a file path into its profile pattern: segments that name
// one process, request or temporary file — numbers, long hexadecimal ids,
// UUIDs, and names mixing letters with many digits — become *, so that
// /proc/4711/status is /proc/*/status and /tmp/upload-8c1f2a9e.tmp is
// /tmp/*. Paths are cleaned first and bounded to 32 segments.
func Collapse(p string) string {
	if p == "" || p[0] != '/' {
		// A path relative to a directory fd: kept as it is, under "./".
		p = "./" + strings.TrimPrefix(p, "./")
	}
	segs := strings.Split(p, "/")
	if len(segs) > 33 {
		segs = append(segs[:32], "**")
	}
	for i, s := range segs {
		if variable(s) {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// variable reports whether a path segment looks generated.
func variable(s string) bool {
	if s == "" || s == "*" || s == "**" {
		return false
	}
	digits, hex, other := 0, 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hex++
		case c == '-' || c == '_' || c == '.':
		default:
			other++
		}
	}
	switch {
	case digits == len(s): // 4711
		return true
	case other == 0 && digits+hex >= 8 && digits > 0: // 8c1f2a9e, uuids
		return true
	case digits >= 4 && digits*3 >= len(s): // tmp12345x, upload-839201.part
		return true
	}
	// A long run of hex inside a name: upload-8c1f2a9e.tmp.
	run := 0
	for _, c := range s {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			run++
			if run >= 8 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
