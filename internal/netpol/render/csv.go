package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
)

// streamCSV writes a header and one record per connection; the ports are
// separated by semicolons.
func streamCSV(w io.Writer, r *analyzer.Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"src", "srcKind", "dst", "dstKind", "all", "ports"})
	each(r, func(c Connection) {
		_ = cw.Write([]string{c.Src, c.SrcKind, c.Dst, c.DstKind, strconv.FormatBool(c.All), strings.Join(c.Ports, ";")})
	})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
