package rules

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"k8s.io/apiserver/pkg/cel/lazy"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules/packs"
	"github.com/kordon-dev/kordon/internal/testgen"
)

// celPrelude evaluates the CEL definitions of the workload variables on
// an object, as an exported admission policy would.
func celPrelude(t *testing.T, rs *RuleSet, o *k8s.Object) map[string]ref.Val {
	t.Helper()
	m := lazy.NewMapValue(variablesType)
	out := map[string]ref.Val{}
	act := func(self *lazy.MapValue) interpreter.Activation {
		a, _ := interpreter.NewActivation(map[string]any{"object": types.DefaultTypeAdapter.NativeToValue(o.Content), "variables": self})
		return a
	}
	for _, v := range rs.prelude {
		m.Append(v.name, func(self *lazy.MapValue) ref.Val {
			out, _, err := v.prog.Eval(act(self))
			if err != nil {
				return types.WrapErr(err)
			}
			return out
		})
	}
	for _, v := range rs.prelude {
		out[v.name] = m.Get(types.String(v.name))
	}
	return out
}

func preludeObjects(t *testing.T) []*k8s.Object {
	t.Helper()
	objs := testgen.Objects(600, 7)
	err := fs.WalkDir(packs.FS, FixturesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(packs.FS, p)
		if err != nil {
			return err
		}
		o, _ := k8s.Decode(data, p)
		objs = append(objs, o...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	edge := `apiVersion: v1
kind: Pod
metadata: {name: images}
spec:
  containers:
    - {name: a, image: nginx}
    - {name: b, image: "nginx:1.27"}
    - {name: c, image: "Registry.Example.com:5000/team/app:v1@sha256:abc"}
    - {name: d, image: "localhost/app"}
    - {name: e, image: "localhost:5000/app:dev"}
    - {name: f, image: "index.docker.io/bitnami/redis"}
    - {name: g, image: "library/busybox@sha256:1234"}
    - {name: h, image: ""}
    - {name: i}
    - {name: j, image: "ghcr.io/org/sub/app:1.0"}
    - {name: k, image: "host.io/app@"}
    - {name: l, image: "repo:tag:odd"}
  initContainers:
    - {name: init, image: "quay.io/x/y:z"}
  ephemeralContainers:
    - {name: debug, image: busybox}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: no-template-metadata}
spec: {template: {spec: {containers: [{name: a, image: x}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cron}
spec: {jobTemplate: {spec: {template: {metadata: {labels: {a: b}}, spec: {containers: [{name: a, image: x}]}}}}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl}
template: {spec: {containers: [{name: a, image: "ünicode/app"}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: malformed}
spec: {containers: "not a list"}
---
apiVersion: v1
kind: Pod
metadata: {name: no-spec}
`
	o, errs := k8s.Decode([]byte(edge), "edge.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return append(objs, o...)
}

// TestNativePreludeMatchesCEL checks that the Go fast path of the workload
// variables gives exactly what their CEL definitions give, and that it is
// taken for well-formed objects.
func TestNativePreludeMatchesCEL(t *testing.T) {
	rs, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	native := 0
	for _, o := range preludeObjects(t) {
		if !k8s.IsWorkload(o.Group(), o.Kind()) {
			continue
		}
		want := celPrelude(t, rs, o)
		for _, v := range rs.prelude {
			got, ok := v.native(o)
			if !ok {
				if !types.IsError(want[v.name]) && !strings.Contains(o.Name(), "malformed") && !strings.Contains(o.Name(), "tmpl") && o.Name() != "no-spec" {
					t.Errorf("%s %s: native %s declined a well-formed object", o.Source, o.Ref(), v.name)
				}
				continue
			}
			native++
			gotVal := types.DefaultTypeAdapter.NativeToValue(got)
			if types.IsError(want[v.name]) {
				t.Errorf("%s %s: %s: CEL fails (%v) but native gives %v", o.Source, o.Ref(), v.name, want[v.name], got)
				continue
			}
			if gotVal.Equal(want[v.name]) != types.True {
				t.Errorf("%s %s: %s:\n native %v\n    CEL %v", o.Source, o.Ref(), v.name, got, want[v.name].Value())
			}
		}
	}
	if native < 1000 {
		t.Errorf("only %d native prelude values compared; the fast path is not exercised", native)
	}
}

// variablesType is the type of the reference variables map the test
// builds with the API server's own lazy map.
var variablesType = types.NewMapType(types.StringType, types.DynType)
