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
	"isWindows":     nativeIsWindows,
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

// nativeIsWindows is isWindows in Go. It declines (ok=false) whenever a
// field it reads does not have the type the API gives it, so that CEL
// decides, with its own result or error, on malformed objects.
func nativeIsWindows(o *k8s.Object) (any, bool) {
	specV, ok := nativePodSpec(o)
	if !ok {
		return nil, false
	}
	spec := specV.(map[string]any)
	if name, present, ok := stringAt(spec, "os", "name"); !ok {
		return nil, false
	} else if present && name == "windows" {
		return true, true
	}
	if v, present := spec["nodeSelector"]; present {
		sel, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if os, present := sel["kubernetes.io/os"]; present {
			s, ok := os.(string)
			if !ok {
				return nil, false
			}
			if s == "windows" {
				return true, true
			}
		}
	}
	switch windows, ok := windowsAffinity(spec); {
	case !ok:
		return nil, false
	case windows:
		return true, true
	}
	if hp, present, ok := boolAt(spec, "securityContext", "windowsOptions", "hostProcess"); !ok {
		return nil, false
	} else if present && hp {
		return true, true
	}
	all, ok := containersOf(spec)
	if !ok {
		return nil, false
	}
	for _, c := range all {
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, false
		}
		if hp, present, ok := boolAt(cm, "securityContext", "windowsOptions", "hostProcess"); !ok {
			return nil, false
		} else if present && hp {
			return true, true
		}
	}
	return false, true
}

// windowsAffinity reports whether every term of the pod's required node
// affinity demands kubernetes.io/os In [windows] (and there is a term).
func windowsAffinity(spec map[string]any) (windows, ok bool) {
	required := any(spec)
	for _, k := range []string{"affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"} {
		m, isMap := required.(map[string]any)
		if !isMap {
			return false, false
		}
		v, present := m[k]
		if !present {
			return false, true
		}
		required = v
	}
	terms, isList := required.([]any)
	if !isList {
		return false, false
	}
	if len(terms) == 0 {
		return false, true
	}
	windows = true
	for _, t := range terms {
		tm, isMap := t.(map[string]any)
		if !isMap {
			return false, false
		}
		exprs := []any{}
		if v, present := tm["matchExpressions"]; present {
			if exprs, isList = v.([]any); !isList {
				return false, false
			}
		}
		found := false
		for _, e := range exprs {
			em, isMap := e.(map[string]any)
			if !isMap {
				return false, false
			}
			key, _, okKey := stringAt(em, "key")
			op, _, okOp := stringAt(em, "operator")
			if !okKey || !okOp {
				return false, false
			}
			if key != "kubernetes.io/os" || op != "In" {
				continue
			}
			values := []any{}
			if v, present := em["values"]; present {
				if values, isList = v.([]any); !isList {
					return false, false
				}
			}
			all := len(values) > 0
			for _, v := range values {
				s, isString := v.(string)
				if !isString {
					return false, false
				}
				all = all && s == "windows"
			}
			found = found || all
		}
		windows = windows && found
	}
	return windows, true
}

// stringAt returns the string at a path of map keys: present is false when
// a key is missing, ok is false when a value on the way has another type.
func stringAt(m map[string]any, keys ...string) (s string, present, ok bool) {
	v, present, ok := valueAt(m, keys...)
	if !present || !ok {
		return "", present, ok
	}
	s, ok = v.(string)
	return s, true, ok
}

// boolAt is stringAt for a bool.
func boolAt(m map[string]any, keys ...string) (b, present, ok bool) {
	v, present, ok := valueAt(m, keys...)
	if !present || !ok {
		return false, present, ok
	}
	b, ok = v.(bool)
	return b, true, ok
}

func valueAt(m map[string]any, keys ...string) (v any, present, ok bool) {
	v = m
	for _, k := range keys {
		mm, isMap := v.(map[string]any)
		if !isMap {
			return nil, false, false
		}
		if v, present = mm[k]; !present {
			return nil, false, true
		}
	}
	return v, true, true
}
