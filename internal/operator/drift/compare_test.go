package drift

import (
	"encoding/json"
	"slices"
	"testing"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestComparerOnlyOwnedFields walks a fieldsV1 tree as the API server
// writes it: map fields, list items by key, set values, and leaves.
func TestComparerOnlyOwnedFields(t *testing.T) {
	fields := obj(t, `{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{
		"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}},
		"f:finalizersLike":{"v:\"a\"":{}},"f:args":{}}}`)
	want := obj(t, `{"spec":{"replicas":2,"args":["x","y"],"finalizersLike":["a","b"],"template":{"spec":{"containers":[
		{"name":"app","image":"nginx:1.27","ports":[{"containerPort":80,"protocol":"TCP"}],"terminationMessagePath":"/dev/termination-log"},
		{"name":"sidecar","image":"envoy:1"}]}}}}`)
	for _, tc := range []struct {
		name string
		live string
		want []string
	}{
		{"same, with fields nobody owns", `{"spec":{"replicas":2,"args":["x","y"],"finalizersLike":["b","a"],"paused":true,"template":{"spec":{"containers":[
			{"name":"sidecar","image":"envoy:2"},
			{"name":"app","image":"nginx:1.27","ports":[{"containerPort":80,"protocol":"TCP","name":"http"}],"env":[{"name":"X"}]}]}}}}`, nil},
		{"changed image and replicas", `{"spec":{"replicas":5,"args":["x","y"],"finalizersLike":["a"],"template":{"spec":{"containers":[
			{"name":"app","image":"nginx:1.28","ports":[{"containerPort":80,"protocol":"TCP"}]}]}}}}`,
			[]string{"spec.replicas", "spec.template.spec.containers[name=app].image"}},
		{"atomic list changed, set value and port gone", `{"spec":{"replicas":2,"args":["y","x"],"finalizersLike":["b"],"template":{"spec":{"containers":[
			{"name":"app","image":"nginx:1.27","ports":[]}]}}}}`,
			[]string{"spec.args", "spec.finalizersLike[\"a\"]", "spec.template.spec.containers[name=app].ports[containerPort=80,protocol=TCP]"}},
		{"container gone", `{"spec":{"replicas":2,"args":["x","y"],"finalizersLike":["a"],"template":{"spec":{"containers":[]}}}}`,
			[]string{"spec.template.spec.containers[name=app]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := comparer{max: 10}
			c.node(fields, obj(t, tc.live), want, "")
			got := slices.Clone(c.paths)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || c.total != len(tc.want) {
				t.Errorf("paths %q (total %d), want %q", got, c.total, tc.want)
			}
		})
	}
}

func TestComparerBoundsPaths(t *testing.T) {
	fields := map[string]any{}
	live, want := map[string]any{}, map[string]any{}
	for i := range 50 {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		fields["f:"+k] = map[string]any{}
		live[k], want[k] = 1.0, 2.0
	}
	c := comparer{max: 5}
	c.node(fields, live, want, "")
	if len(c.paths) != 5 || c.total != 50 {
		t.Errorf("kept %d of %d paths, want 5 of 50", len(c.paths), c.total)
	}
}
