package rules

import (
	"io/fs"
	"path"
	"slices"
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
metadata: {name: win-os}
spec: {os: {name: windows}, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: linux-os}
spec: {os: {name: linux}, nodeSelector: {kubernetes.io/os: linux, kubernetes.io/arch: amd64}, containers: [{name: a, image: x}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: win-selector}
spec: {template: {spec: {nodeSelector: {kubernetes.io/os: windows}, containers: [{name: a, image: x}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: win-affinity}
spec: {jobTemplate: {spec: {template: {spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
  {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows]}, {key: kubernetes.io/arch, operator: In, values: [amd64]}]},
  {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows, windows]}]}]}}}, containers: [{name: a, image: x}]}}}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: mixed-affinity}
spec: {template: {spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
  {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows]}]},
  {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [windows, linux]}]},
  {matchFields: [{key: metadata.name, operator: In, values: [node-1]}]}]}}}, containers: [{name: a, image: x}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: not-in-affinity}
spec: {template: {spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
  {matchExpressions: [{key: kubernetes.io/os, operator: NotIn, values: [linux]}, {key: kubernetes.io/os, operator: In, values: []}]}]}}}, containers: [{name: a, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: no-terms}
spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}, podAffinity: {}}, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: win-hostprocess-container}
spec:
  hostNetwork: true
  containers: [{name: a, image: x}]
  initContainers: [{name: b, image: busybox, securityContext: {windowsOptions: {hostProcess: true}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: win-hostprocess-pod}
spec: {securityContext: {windowsOptions: {hostProcess: true}}, containers: [{name: a, image: x, securityContext: {windowsOptions: {hostProcess: false}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: malformed-selector}
spec: {nodeSelector: null, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: malformed-affinity-values}
spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
  {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [1]}]}]}}}, containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: malformed-hostprocess}
spec: {containers: [{name: a, image: x, securityContext: {windowsOptions: {hostProcess: "true"}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: malformed-os}
spec: {os: windows, containers: [{name: a, image: x}]}
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

// TestIsWindows checks what isWindows decides on the edge objects of
// preludeObjects, by its CEL definition and natively.
func TestIsWindows(t *testing.T) {
	rs, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"win-os": true, "win-selector": true, "win-affinity": true,
		"win-hostprocess-container": true, "win-hostprocess-pod": true,
		"linux-os": false, "mixed-affinity": false, "not-in-affinity": false, "no-terms": false,
		"images": false, "no-template-metadata": false, "malformed-affinity-values": false,
	}
	idx := slices.IndexFunc(rs.prelude, func(v compiledVariable) bool { return v.name == "isWindows" })
	if idx < 0 {
		t.Fatal("no prelude variable isWindows")
	}
	seen := 0
	for _, o := range preludeObjects(t) {
		w, ok := want[o.Name()]
		if !ok || o.Source.File != "edge.yaml" {
			continue
		}
		seen++
		if got := celPrelude(t, rs, o)["isWindows"]; got != types.Bool(w) {
			t.Errorf("%s: CEL isWindows = %v, want %v", o.Name(), got, w)
		}
		if got, ok := rs.prelude[idx].native(o); ok && got != w {
			t.Errorf("%s: native isWindows = %v, want %v", o.Name(), got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d objects, want %d", seen, len(want))
	}
}
