package compile

import (
	"os"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// FuzzParse feeds arbitrary documents to the intent parser: it must never
// panic, and whatever it accepts must compile, to policies the model (and so
// the API server's validation rules) accepts.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/shop.intent.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\ngroups: {a: {cidrs: ['::/0'], except: ['fd00::/8']}, b: {}}\nzones: [{namespaces: [x], deny: [egress]}]\nrules: [{from: b, to: a, ports: [sctp/1-9, udp]}]\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		in, err := Parse(doc)
		if err != nil {
			return
		}
		compiled, err := Compile(in, Options{})
		if err != nil {
			t.Fatalf("compile a parsed intent: %v", err)
		}
		out, err := Marshal(compiled.Policies)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		decoded, errs := k8s.Decode(out, "compiled.yaml")
		if len(errs) > 0 {
			t.Fatalf("compiled YAML does not decode: %v\n%s", errs[0], out)
		}
		if _, problems := model.FromObjects(decoded); len(problems) > 0 {
			t.Fatalf("compiled policy rejected: %v\n%s", problems[0], out)
		}
	})
}
