package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
)

// reportOptions are the generate runs in testdata/generate.*: with both
// directions (the flows of a Deployment with only volatile labels and of an
// unknown pod are left out, and an existing egress policy allows more than
// observed), and with egress alone (an existing ingress policy then denies
// an observed flow).
var reportOptions = []struct {
	types string
	opts  generate.Options
}{
	{"ingress,egress", generate.Options{Ingress: true, Egress: true}},
	{"egress", generate.Options{Egress: true}},
}

func generated(t *testing.T, opts generate.Options) *generate.Result {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "flows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flows, err := flow.Read(f, "flows.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := generate.Generate(load(t, "flows-cluster.yaml"), flows.Flows, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGenerateReportGolden writes the report of every run, each after a
// line "# generate --policy-types TYPES".
func TestGenerateReportGolden(t *testing.T) {
	for _, format := range GenerateReportFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			for _, run := range reportOptions {
				fmt.Fprintf(&buf, "# generate --policy-types %s\n", run.types)
				if err := WriteGenerateReport(&buf, format, generated(t, run.opts)); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, filepath.Join("testdata", "generate."+format), buf.Bytes())
		})
	}
}

// TestGenerateReportJSONIsResult checks that the JSON report is exactly
// generate.Result as encoding/json writes it, the contract generate's own
// golden file (hubble.report.json) holds.
func TestGenerateReportJSONIsResult(t *testing.T) {
	res := generated(t, reportOptions[1].opts)
	var buf bytes.Buffer
	if err := WriteGenerateReport(&buf, "json", res); err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want)+"\n" {
		t.Errorf("report =\n%s\nwant\n%s", got, want)
	}
}
