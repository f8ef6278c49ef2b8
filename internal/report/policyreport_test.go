package report

import (
	"bytes"
	"errors"
	"io"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/kordon-dev/kordon/internal/finding"
)

// decodeStream reads every document of a YAML stream as generic maps.
func decodeStream(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decode YAML stream: %v", err)
		}
		docs = append(docs, m)
	}
}

func TestPolicyReportObjects(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "policyreport", richReport(), Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	docs := decodeStream(t, buf.Bytes())
	type want struct {
		kind, name, namespace          string
		results, fail, skip, errorsCnt int
	}
	wants := []want{
		{"PolicyReport", "kordon-kube-system", "kube-system", 1, 0, 1, 0},
		{"PolicyReport", "kordon-payments", "payments", 3, 3, 0, 0},
		{"PolicyReport", "kordon-tools", "tools", 2, 1, 0, 1},
		{"ClusterPolicyReport", "kordon-cluster", "", 2, 2, 0, 0},
	}
	if len(docs) != len(wants) {
		t.Fatalf("got %d objects, want %d", len(docs), len(wants))
	}
	for i, w := range wants {
		d := docs[i]
		meta := d["metadata"].(map[string]any)
		if d["apiVersion"] != "wgpolicyk8s.io/v1alpha2" || d["kind"] != w.kind || meta["name"] != w.name {
			t.Errorf("object %d = %v %v %v, want wgpolicyk8s.io/v1alpha2 %s %s", i, d["apiVersion"], d["kind"], meta["name"], w.kind, w.name)
		}
		if ns, _ := meta["namespace"].(string); ns != w.namespace {
			t.Errorf("object %d namespace = %q, want %q", i, ns, w.namespace)
		}
		results := d["results"].([]any)
		if len(results) != w.results {
			t.Errorf("%s: %d results, want %d", w.name, len(results), w.results)
		}
		sum := d["summary"].(map[string]any)
		if sum["fail"] != w.fail || sum["skip"] != w.skip || sum["error"] != w.errorsCnt || sum["pass"] != 0 || sum["warn"] != 0 {
			t.Errorf("%s: summary %v, want fail=%d skip=%d error=%d", w.name, sum, w.fail, w.skip, w.errorsCnt)
		}
		for j, r := range results {
			res := r.(map[string]any)
			// Field names of PolicyReportResult in wgpolicyk8s.io/v1alpha2.
			for key := range res {
				switch key {
				case "source", "policy", "rule", "category", "severity", "timestamp", "result", "scored", "resources", "resourceSelector", "message", "properties":
				default:
					t.Errorf("%s result %d: field %q is not in the v1alpha2 schema", w.name, j, key)
				}
			}
			switch res["severity"] {
			case "critical", "high", "medium", "low", "info", nil:
			default:
				t.Errorf("%s result %d: severity %v outside the CRD enum", w.name, j, res["severity"])
			}
			ts := res["timestamp"].(map[string]any)
			if ts["seconds"] != int(fixedNow.Unix()) || ts["nanos"] != fixedNow.Nanosecond() {
				t.Errorf("%s result %d: timestamp %v, want %d/%d", w.name, j, ts, fixedNow.Unix(), fixedNow.Nanosecond())
			}
			if res["source"] != "kordon" || res["scored"] != true {
				t.Errorf("%s result %d: source %v scored %v, want kordon true", w.name, j, res["source"], res["scored"])
			}
			for _, ref := range res["resources"].([]any) {
				ns, _ := ref.(map[string]any)["namespace"].(string)
				if ns != w.namespace {
					t.Errorf("%s result %d: resource namespace %q in report for %q", w.name, j, ns, w.namespace)
				}
			}
		}
	}
}

func TestPolicyReportEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "policyreport", &finding.Report{}, Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	docs := decodeStream(t, buf.Bytes())
	if len(docs) != 1 || docs[0]["kind"] != "ClusterPolicyReport" {
		t.Fatalf("empty report: got %v, want one empty ClusterPolicyReport", docs)
	}
}
