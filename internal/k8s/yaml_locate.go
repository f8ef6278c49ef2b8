package k8s

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
)

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseError turns an error of yaml.v2 into a *yamlError. The document line
// in the error becomes a file line; an error at the end of the stream
// points past the last line and is reported on the document's last line.
func parseError(text []byte, firstLine int, err error) *yamlError {
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n >= 1 {
			if last := bytes.Count(text, []byte("\n")); n > last && last > 0 {
				n = last
			}
			line = firstLine + n - 1
		}
	}
	return &yamlError{line: line, msg: cleanYAMLError(err).Error()}
}

// cleanYAMLError drops the converter's prefixes and the document-relative
// line number (the InputError carries the file line instead).
func cleanYAMLError(err error) error {
	msg := err.Error()
	msg = yamlLine.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, "unmarshal errors:", "")
	msg = strings.Join(strings.Fields(msg), " ")
	msg = strings.TrimPrefix(msg, "yaml:")
	msg = strings.TrimLeft(msg, " :")
	return errors.New("invalid YAML: " + msg)
}

// conversionError reports a problem fromYAML found, without a line.
func conversionError(_ []byte, _ int, _ any, err error) *yamlError {
	return &yamlError{msg: err.Error()}
}
