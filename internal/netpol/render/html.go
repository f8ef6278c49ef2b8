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
// JSON and drawn by inline script, with no network access needed.
func writeHTML(w io.Writer, g Graph) error {
	conns := g.Connections
	if conns == nil {
		conns = []Connection{}
	}
	nodes := g.Nodes
	if nodes == nil {
		nodes = []Node{}
	}
	// json.Marshal escapes <, > and & so the data cannot end the script.
	data, err := json.Marshal(struct {
		Nodes       []Node       `json:"nodes"`
		Connections []Connection `json:"connections"`
	}{nodes, conns})
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	page := strings.Replace(pageTemplate, "/*DATA*/null", string(data), 1)
	if _, err := io.WriteString(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}
