package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// Rule IDs of the checks this package decides (catalogued in
// internal/rules/packs/drift.yaml).
const (
	RuleDiffers = "KOR-DRIFT-001"
	RuleMissing = "KOR-DRIFT-002"
)

// IDs returns the rule IDs the drift engine reports.
func IDs() []string { return []string{RuleDiffers, RuleMissing} }

// DefaultFieldManager is the field manager of the dry-run applies.
const DefaultFieldManager = "kordon-drift"

// DefaultMaxPaths bounds the differing paths named per object.
const DefaultMaxPaths = 20

// Detector compares live objects with baseline objects. It holds no state
// between calls and is safe for concurrent use.
type Detector struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	// FieldManager names the dry-run applies; "" means DefaultFieldManager.
	FieldManager string
	// MaxPaths bounds the paths kept per object; 0 means DefaultMaxPaths.
	MaxPaths int
	// Workers is how many objects are compared at once (each costs two
	// API requests); 0 means DefaultWorkers.
	Workers int
}

// DefaultWorkers is the default number of concurrent comparisons.
const DefaultWorkers = 8

// Drift is the verdict on one baseline object.
type Drift struct {
	Object *k8s.Object
	// Missing is set when the live object does not exist.
	Missing bool
	// Paths are the differing fields, such as spec.replicas or
	// spec.template.spec.containers[name=app].image; at most MaxPaths,
	// Total counts them all.
	Paths []string
	Total int
}

// Result is the outcome of comparing a baseline.
type Result struct {
	// Drifted are the objects missing or differing, in baseline order.
	Drifted []Drift
	// InSync counts the objects equal to the baseline in the fields it sets.
	InSync int
	// Errors are the objects that could not be compared (unknown kind, a
	// dry-run the server refused, no permission), each naming the
	// baseline file and line.
	Errors []finding.Problem
}

// Compare checks each baseline object against the cluster. One object that
// cannot be compared is reported in Result.Errors and never stops the
// others; the error is for a canceled context.
func (d *Detector) Compare(ctx context.Context, baseline []*k8s.Object) (Result, error) {
	var res Result
	type verdict struct {
		dr  Drift
		err error
	}
	verdicts := make([]verdict, len(baseline))
	workers := d.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(baseline)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dr, err := d.compareOne(ctx, baseline[i])
				verdicts[i] = verdict{dr, err}
			}
		}()
	}
feed:
	for i := range baseline {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	for i, o := range baseline {
		dr, err := verdicts[i].dr, verdicts[i].err
		if err != nil {
			res.Errors = append(res.Errors, finding.Problem{File: o.Source.File, Line: o.Source.Line,
				Message: fmt.Sprintf("%s: %v", o.Ref(), err)})
			continue
		}
		if dr.Missing || dr.Total > 0 {
			res.Drifted = append(res.Drifted, dr)
		} else {
			res.InSync++
		}
	}
	return res, nil
}

func (d *Detector) compareOne(ctx context.Context, o *k8s.Object) (Drift, error) {
	dr := Drift{Object: o}
	gv, err := schema.ParseGroupVersion(o.APIVersion())
	if err != nil {
		return dr, fmt.Errorf("apiVersion: %w", err)
	}
	gvk := gv.WithKind(o.Kind())
	mapping, err := d.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if r, ok := d.Mapper.(meta.ResettableRESTMapper); ok && meta.IsNoMatchError(err) {
		r.Reset() // a CRD installed since discovery was read
		mapping, err = d.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return dr, fmt.Errorf("kind not served: %w", err)
	}
	var rc dynamic.ResourceInterface = d.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		rc = d.Dynamic.Resource(mapping.Resource).Namespace(o.AppliedNamespace())
	}
	live, err := rc.Get(ctx, o.Name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		dr.Missing = true
		return dr, nil
	}
	if err != nil {
		return dr, fmt.Errorf("get live object: %w", err)
	}
	manager := d.FieldManager
	if manager == "" {
		manager = DefaultFieldManager
	}
	applied, err := rc.Apply(ctx, o.Name(), applyObject(o, mapping.Scope.Name() == meta.RESTScopeNameNamespace),
		metav1.ApplyOptions{FieldManager: manager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return dr, fmt.Errorf("server-side dry-run apply: %w", err)
	}
	fields, err := ownedFields(applied, manager)
	if err != nil {
		return dr, err
	}
	max := d.MaxPaths
	if max <= 0 {
		max = DefaultMaxPaths
	}
	c := comparer{max: max}
	c.node(fields, live.Object, applied.Object, "")
	dr.Paths, dr.Total = c.paths, c.total
	return dr, nil
}

// applyObject is the baseline object as an apply configuration: without
// the fields only the server sets.
func applyObject(o *k8s.Object, namespaced bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: deepCopy(o.Content).(map[string]any)}
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	delete(u.Object, "status")
	if namespaced {
		u.SetNamespace(o.AppliedNamespace())
	}
	return u
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// ownedFields returns the fieldsV1 tree of the manager's apply entry.
func ownedFields(u *unstructured.Unstructured, manager string) (map[string]any, error) {
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != manager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		dec := json.NewDecoder(bytes.NewReader(mf.FieldsV1.GetRawBytes()))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return nil, fmt.Errorf("managedFields of %s: %w", manager, err)
		}
		return fields, nil
	}
	return nil, fmt.Errorf("dry-run answer has no managedFields entry for %s", manager)
}

// comparer walks a fieldsV1 tree (keys "f:<field>", "k:<key json>",
// "v:<value json>", "i:<index>", "." for the node itself) over the live
// object and the dry-run answer and collects the paths whose values
// differ.
type comparer struct {
	max   int
	total int
	paths []string
}

func (c *comparer) differ(path string) {
	c.total++
	if len(c.paths) < c.max {
		c.paths = append(c.paths, path)
	}
}

func (c *comparer) node(fields map[string]any, live, want any, path string) {
	if len(fields) == 0 {
		// A leaf: the whole value is owned.
		if !reflect.DeepEqual(live, want) {
			c.differ(path)
		}
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sub, _ := fields[k].(map[string]any)
		switch {
		case k == ".":
		case strings.HasPrefix(k, "f:"):
			name := k[2:]
			lm, _ := live.(map[string]any)
			wm, _ := want.(map[string]any)
			lv, lok := lm[name]
			wv, wok := wm[name]
			p := join(path, name)
			if lok != wok {
				c.differ(p)
				continue
			}
			c.node(sub, lv, wv, p)
		case strings.HasPrefix(k, "k:"):
			var key map[string]any
			if err := json.Unmarshal([]byte(k[2:]), &key); err != nil {
				c.differ(path + "[?]")
				continue
			}
			p := path + "[" + keyString(key) + "]"
			li, lok := findKeyed(live, key)
			wi, wok := findKeyed(want, key)
			if lok != wok {
				c.differ(p)
				continue
			}
			c.node(sub, li, wi, p)
		case strings.HasPrefix(k, "v:"):
			var v any
			if err := json.Unmarshal([]byte(k[2:]), &v); err != nil {
				c.differ(path + "[?]")
				continue
			}
			if containsValue(live, v) != containsValue(want, v) {
				c.differ(path + "[" + k[2:] + "]")
			}
		case strings.HasPrefix(k, "i:"):
			i, err := strconv.Atoi(k[2:])
			p := path + "[" + k[2:] + "]"
			if err != nil {
				c.differ(p)
				continue
			}
			ll, _ := live.([]any)
			wl, _ := want.([]any)
			if (i < len(ll)) != (i < len(wl)) {
				c.differ(p)
				continue
			}
			if i < len(ll) {
				c.node(sub, ll[i], wl[i], p)
			}
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func keyString(key map[string]any) string {
	names := make([]string, 0, len(key))
	for k := range key {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%v", k, key[k])
	}
	return strings.Join(parts, ",")
}

// findKeyed returns the list item whose fields equal the key's.
func findKeyed(list any, key map[string]any) (any, bool) {
	items, _ := list.([]any)
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for k, v := range key {
			if !sameJSON(m[k], v) {
				match = false
				break
			}
		}
		if match {
			return it, true
		}
	}
	return nil, false
}

func containsValue(list any, v any) bool {
	items, _ := list.([]any)
	for _, it := range items {
		if sameJSON(it, v) {
			return true
		}
	}
	return false
}

// sameJSON compares values decoded by different JSON decoders (int64 and
// float64 numbers) by their JSON form.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// NewDetector returns a detector with a dynamic client and a discovery
// REST mapper (refreshed when a kind is not found) for cfg.
func NewDetector(cfg *rest.Config) (*Detector, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	return &Detector{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}
