package rules

import (
	"github.com/kordon-dev/kordon/internal/imageref"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// nativePrelude computes the workload variables in Go, much faster than
// their CEL definitions in preludeVariables, which stay the reference (and
// what exported admission policies use). Each function returns ok=false
// whenever its answer could differ from the CEL definition's, for example
// on a malformed object where CEL would fail; the CEL definition is then
// evaluated instead, so results and errors are always the CEL ones.
// prelude_test.go checks the two agree.
var nativePrelude = map[string]func(o *k8s.Object) (any, bool){
	"podSpec":       nativePodSpec,
	"podMeta":       nativePodMeta,
	"allContainers": nativeAllContainers,
	"imageRefs":     nativeImages,
}

func nativePodSpec(o *k8s.Object) (any, bool) {
	_, spec, ok := k8s.PodTemplate(o)
	return spec, ok
}

func nativePodMeta(o *k8s.Object) (any, bool) {
	if o.Kind() == "Pod" {
		md, ok := o.Content["metadata"].(map[string]any)
		return md, ok
	}
	var tmpl map[string]any
	var ok bool
	switch o.Kind() {
	case "PodTemplate":
		tmpl, ok = o.Content["template"].(map[string]any)
	case "CronJob":
		tmpl, ok = mapPath(o.Content, "spec", "jobTemplate", "spec", "template")
	default:
		tmpl, ok = mapPath(o.Content, "spec", "template")
	}
	if !ok {
		return nil, false
	}
	md, present := tmpl["metadata"]
	if !present {
		return map[string]any{}, true
	}
	m, isMap := md.(map[string]any)
	return m, isMap
}

func mapPath(m map[string]any, keys ...string) (map[string]any, bool) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

func nativeAllContainers(o *k8s.Object) (any, bool) {
	spec, ok := nativePodSpec(o)
	if !ok {
		return nil, false
	}
	return containersOf(spec.(map[string]any))
}

func containersOf(spec map[string]any) ([]any, bool) {
	var out []any
	for _, key := range []string{"containers", "initContainers", "ephemeralContainers"} {
		v, present := spec[key]
		if !present {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out = append(out, list...)
	}
	if out == nil {
		out = []any{}
	}
	return out, true
}

func nativeImages(o *k8s.Object) (any, bool) {
	all, ok := nativeAllContainers(o)
	if !ok {
		return nil, false
	}
	out := []any{}
	for _, c := range all.([]any) {
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, false
		}
		raw, present := cm["image"]
		if !present {
			continue
		}
		image, ok := raw.(string)
		if !ok {
			return nil, false
		}
		if image == "" {
			continue
		}
		if !isASCII(image) {
			return nil, false // CEL's string functions count code points
		}
		name := ""
		if n, present := cm["name"]; present {
			if name, ok = n.(string); !ok {
				return nil, false
			}
		}
		ref := imageref.Parse(image)
		out = append(out, map[string]any{
			"container": name, "image": image, "registry": ref.Registry,
			"repository": ref.Repository, "tag": ref.Tag, "digest": ref.Digest,
		})
	}
	return out, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
