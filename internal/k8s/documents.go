package k8s

// Document is one YAML document of a stream and the file line it starts on.
type Document struct {
	Text []byte
	// Line is the 1-based file line of the document's first line.
	Line int
}

// SplitDocuments cuts a YAML stream at its "---" separator lines. It is for
// YAML files that are not Kubernetes objects (rule files, configs) but want
// the same line bookkeeping as Decode.
func SplitDocuments(data []byte) []Document {
	docs := splitDocuments(data)
	out := make([]Document, 0, len(docs))
	for _, d := range docs {
		if firstContentLine(d.text) < 0 {
			continue
		}
		out = append(out, Document{Text: d.text, Line: d.startLine + firstContentLine(d.text)})
	}
	return out
}
