package rules

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// objectValues converts the Go values of one object to CEL values,
// wrapping each map and list of the object once: CEL wraps a Go map or
// list again every time an expression reads it, and the hundred-odd rules
// on a workload read its spec, containers and security contexts some two
// thousand times. The wrappers are the ones types.DefaultTypeAdapter makes
// (NewStringInterfaceMap, NewDynamicList), so values behave exactly alike.
//
// It is not safe for concurrent use: each evaluation worker has its own,
// cleared between objects. Values of the inventory and of per-scan
// variables, which outlive an object or are shared between workers, are
// never made with it.
type objectValues struct {
	maps  map[unsafe.Pointer]ref.Val
	lists map[listKey]ref.Val
}

type listKey struct {
	data unsafe.Pointer
	n    int
}

var _ types.Adapter = (*objectValues)(nil)

func newObjectValues() *objectValues {
	return &objectValues{maps: map[unsafe.Pointer]ref.Val{}, lists: map[listKey]ref.Val{}}
}

// reset forgets the previous object's values, keeping the memory.
func (c *objectValues) reset() {
	clear(c.maps)
	clear(c.lists)
}

// NativeToValue implements types.Adapter.
func (c *objectValues) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			break
		}
		key := reflect.ValueOf(x).UnsafePointer()
		if val, ok := c.maps[key]; ok {
			return val
		}
		val := types.NewStringInterfaceMap(c, x)
		c.maps[key] = val
		return val
	case []any:
		if len(x) == 0 {
			break
		}
		key := listKey{unsafe.Pointer(unsafe.SliceData(x)), len(x)}
		if val, ok := c.lists[key]; ok {
			return val
		}
		val := types.NewDynamicList(c, x)
		c.lists[key] = val
		return val
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// sharedValues is objectValues for the values of the inventory, which
// every object of a scan reads (inventory rules walk the objects of a
// namespace for each object in it): safe for concurrent use, and kept for
// the whole scan.
type sharedValues struct {
	maps, lists sync.Map
}

var _ types.Adapter = (*sharedValues)(nil)

// NativeToValue implements types.Adapter.
func (c *sharedValues) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			break
		}
		key := reflect.ValueOf(x).UnsafePointer()
		if val, ok := c.maps.Load(key); ok {
			return val.(ref.Val)
		}
		val, _ := c.maps.LoadOrStore(key, types.NewStringInterfaceMap(c, x))
		return val.(ref.Val)
	case []any:
		if len(x) == 0 {
			break
		}
		key := listKey{unsafe.Pointer(unsafe.SliceData(x)), len(x)}
		if val, ok := c.lists.Load(key); ok {
			return val.(ref.Val)
		}
		val, _ := c.lists.LoadOrStore(key, types.NewDynamicList(c, x))
		return val.(ref.Val)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}
