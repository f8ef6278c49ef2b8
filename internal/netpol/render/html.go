package render

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

//go:embed page.html
var pageTemplate string

// writeHTML writes one self-contained page: the graph data is embedded as
// JSON and drawn by inline script, with no network access needed. The
// script labels edges with the ports itself ("all", or the ranges joined by
// ", ").
func writeHTML(w io.Writer, g Graph) error {
	// json.Marshal escapes <, > and & so the data cannot end the script.
	data, err := json.Marshal(struct {
		Nodes       []Node       `json:"nodes"`
		Connections []Connection `json:"connections"`
	}{nonNil(g.Nodes), nonNil(g.Connections)})
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	page := strings.Replace(pageTemplate, "/*DATA*/null", string(data), 1)
	if _, err := io.WriteString(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}
