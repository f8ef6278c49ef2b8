package transform

import "strings"

// replaceComments replaces each C comment /* ... */ with one space; a comment left open runs to
// the end and also becomes one space. changed reports that a comment was opened.
func replaceComments(s string) (string, bool, error) {
	i := strings.Index(s, "/*")
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	for i < len(s) {
		// s[i:] starts a comment here.
		end := strings.Index(s[i+2:], "*/")
		out = append(out, ' ')
		if end < 0 {
			break
		}
		i += 2 + end + 2
		next := strings.Index(s[i:], "/*")
		if next < 0 {
			out = append(out, s[i:]...)
			break
		}
		out = append(out, s[i:i+next]...)
		i += next
	}
	return ownedString(out), true, nil
}

// removeCommentsChar deletes the comment markers "/*", "*/", "<!--", "-->", "--" and "#",
// scanning left to right. changed reports that one was deleted.
func removeCommentsChar(s string) (string, bool, error) {
	first := len(s)
	for _, marker := range []string{"/*", "*/", "<!--", "--", "#"} { // "-->" starts with "--"
		if i := strings.Index(s[:min(len(s), first+len(marker)-1)], marker); i >= 0 {
			first = i
		}
	}
	if first == len(s) {
		return s, false, nil
	}
	out := make([]byte, first, len(s))
	copy(out, s[:first])
	changed := false
	for i := first; i < len(s); {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "/*"), strings.HasPrefix(rest, "*/"), strings.HasPrefix(rest, "--") && !strings.HasPrefix(rest, "-->"):
			i += 2
			changed = true
		case strings.HasPrefix(rest, "<!--"):
			i += 4
			changed = true
		case strings.HasPrefix(rest, "-->"):
			i += 3
			changed = true
		case s[i] == '#':
			i++
			changed = true
		default:
			out = append(out, s[i])
			i++
		}
	}
	return ownedString(out), changed, nil
}

// removeComments removes C comments /* ... */ and HTML comments <!-- ... -->, and cuts the
// value at the first "--" or "#" outside a comment. As in Coraza (which follows ModSecurity),
// the byte just after a comment's end is copied without being examined, a NUL byte stands in
// for it when the comment ends the value, and a comment left open becomes one space.
func removeComments(s string) (string, bool, error) {
	if strings.IndexAny(s, "/<-#") < 0 {
		return s, false, nil
	}
	n := len(s)
	at := func(i int) byte { // s padded with one NUL byte
		if i < n {
			return s[i]
		}
		return 0
	}
	out := make([]byte, 0, n+1)
	changed, inComment := false, false
	i := 0
scan:
	for i < n {
		if !inComment {
			switch {
			case s[i] == '/' && i+1 < n && s[i+1] == '*':
				inComment, changed = true, true
				i += 2
			case s[i] == '<' && i+3 < n && s[i+1] == '!' && s[i+2] == '-' && s[i+3] == '-':
				inComment, changed = true, true
				i += 4
			case s[i] == '-' && i+1 < n && s[i+1] == '-', s[i] == '#':
				changed = true
				break scan
			default:
				out = append(out, s[i])
				i++
			}
			continue
		}
		switch {
		case s[i] == '*' && i+1 < n && s[i+1] == '/':
			inComment = false
			out = append(out, at(i+2))
			i += 3
		case s[i] == '-' && i+2 < n && s[i+1] == '-' && s[i+2] == '>':
			inComment = false
			out = append(out, at(i+3))
			i += 4
		default:
			i++
		}
	}
	if inComment {
		changed = true
		out = append(out, ' ')
	}
	if !changed {
		return s, false, nil
	}
	return ownedString(out), true, nil
}
