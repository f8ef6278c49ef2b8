package k8s

import (
	"reflect"
	"testing"
)

// TestDecodeDropsNullFields checks that null map entries are dropped, as the
// API server treats them as unset, and that null list elements are kept.
func TestDecodeDropsNullFields(t *testing.T) {
	objs, errs := Decode([]byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: null
spec:
  containers:
    - name: app
      image: nginx
      resources: null
      args: [a, null]
`), "p.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	md := Map(objs[0].Content, "metadata")
	if _, ok := md["annotations"]; ok {
		t.Errorf("metadata.annotations: null was kept")
	}
	c := Slice(Map(objs[0].Content, "spec"), "containers")[0].(map[string]any)
	if _, ok := c["resources"]; ok {
		t.Errorf("resources: null was kept")
	}
	if got, want := c["args"], []any{"a", nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("args = %#v, want %#v", got, want)
	}
}
