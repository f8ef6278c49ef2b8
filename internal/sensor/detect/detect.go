// Package detect evaluates Kordon's runtime rules: CEL conditions over one
// sensor event at a time (a flat view of the event, its process and its
// workload, whose fields are the CEL variables event.<field>). The rules' IDs,
// titles, severities and MITRE ATT&CK ids are catalogue entries
// (internal/rules/packs/runtime.yaml, native checks of the sensor engine);
// their conditions live in this package's rules.yaml and are compiled and
// type-checked once, when a Detector is made.
package detect

import (
	_ "embed"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Input is what a condition sees as `event`. Field names are the CEL
// names (documented in docs/sensor.md).
type Input struct {
	Kind      string   `cel:"kind"`
	PID       uint64   `cel:"pid"`
	PPID      uint64   `cel:"ppid"`
	UID       uint64   `cel:"uid"`
	Comm      string   `cel:"comm"`
	Exe       string   `cel:"exe"`
	ExeName   string   `cel:"exeName"`
	ParentExe string   `cel:"parentExe"`
	Path      string   `cel:"path"`
	Name      string   `cel:"name"`
	Args      []string `cel:"args"`
	Flags     uint64   `cel:"flags"`
	Writes    bool     `cel:"writes"`
	Ret       int64    `cel:"ret"`
	Target    uint64   `cel:"target"`
	FSType    string   `cel:"fsType"`
	Addr      string   `cel:"addr"`
	Port      uint64   `cel:"port"`
	LocalPort uint64   `cel:"localPort"`
	Direction string   `cel:"direction"`
	// Capability is the capability checked (capability events).
	Capability string `cel:"capability"`
	// Container is true when the event comes from a container (a
	// container id is known).
	Container     bool   `cel:"container"`
	Namespace     string `cel:"namespace"`
	Pod           string `cel:"pod"`
	ContainerName string `cel:"containerName"`
	Owner         string `cel:"owner"`
	Image         string `cel:"image"`
}

// NewInput builds the CEL view of an event; parentExe is the executable
// of its parent process, when known.
func NewInput(e *event.Event, parentExe string) *Input {
	in := &Input{
		Kind: string(e.Kind), PID: uint64(e.PID), PPID: uint64(e.PPID), UID: uint64(e.UID),
		Comm: e.Comm, Exe: e.Exe, ExeName: path.Base(e.Exe), ParentExe: parentExe,
		Path: e.Path, Args: e.Args, Flags: e.Flags, Ret: int64(e.Ret), Target: uint64(e.Target),
		FSType: e.FSType, Addr: e.Addr, Port: uint64(e.Port), LocalPort: uint64(e.LocalPort), Direction: e.Direction,
		Capability: e.Capability,
	}
	if e.Exe == "" {
		in.ExeName = e.Comm
	}
	if e.Path != "" {
		in.Name = path.Base(e.Path)
	}
	if in.Args == nil {
		in.Args = []string{}
	}
	in.Writes = e.Kind == event.Open && e.Writes()
	if w := e.Workload; w != nil {
		in.Container = w.ContainerID != ""
		in.Namespace, in.Pod, in.ContainerName, in.Owner, in.Image = w.Namespace, w.Pod, w.Container, w.Owner, w.Image
	}
	return in
}

// Spec is one rule's condition as written in rules.yaml.
type Spec struct {
	ID string `json:"id"`
	// Kinds are the event kinds the rule looks at (a fast pre-filter).
	Kinds []event.Kind `json:"kinds"`
	// Condition is a CEL expression over `event`, true when the rule
	// fires.
	Condition string `json:"condition"`
	// Message is a CEL expression giving the event's message.
	Message string `json:"message"`
}

//go:embed rules.yaml
var builtinRules []byte

// Builtin returns the built-in rule specs.
func Builtin() ([]Spec, error) {
	var specs []Spec
	if err := yaml.UnmarshalStrict(builtinRules, &specs); err != nil {
		return nil, fmt.Errorf("detect rules.yaml: %w", err)
	}
	return specs, nil
}

// IDs returns the IDs of the built-in rules (for the catalogue test).
func IDs() []string {
	specs, err := Builtin()
	if err != nil {
		return nil
	}
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return ids
}

type rule struct {
	id        string
	kinds     []event.Kind
	condition cel.Program
	message   cel.Program
}

// Match is one rule that fired.
type Match struct {
	RuleID  string
	Message string
}

// Detector evaluates compiled rules. It is safe for concurrent use.
type Detector struct {
	byKind map[event.Kind][]*rule
}

// fields are the CEL names of Input's fields (their cel tags) with their
// types and getters. Each is declared as the qualified variable
// event.<name>, so a rule reads a field without reflection.
var fields = func() map[string]field {
	m := map[string]field{}
	t := reflect.TypeFor[Input]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("cel")
		var typ *cel.Type
		switch f.Type.Kind() {
		case reflect.String:
			typ = cel.StringType
		case reflect.Uint64:
			typ = cel.UintType
		case reflect.Int64:
			typ = cel.IntType
		case reflect.Bool:
			typ = cel.BoolType
		case reflect.Slice:
			typ = cel.ListType(cel.StringType)
		default:
			panic("detect: Input field " + f.Name + " has no CEL type")
		}
		m["event."+name] = field{typ: typ, index: i}
	}
	return m
}()

type field struct {
	typ   *cel.Type
	index int
}

// NewEnv returns the CEL environment of runtime rules.
func NewEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{ext.Strings()}
	for name, f := range fields {
		opts = append(opts, cel.Variable(name, f.typ))
	}
	return cel.NewEnv(opts...)
}

// New compiles specs. Every error names the rule and the expression.
func New(specs []Spec) (*Detector, error) {
	env, err := NewEnv()
	if err != nil {
		return nil, fmt.Errorf("runtime rule environment: %w", err)
	}
	d := &Detector{byKind: map[event.Kind][]*rule{}}
	var errs []error
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.ID] {
			errs = append(errs, fmt.Errorf("rule %s: defined twice", s.ID))
			continue
		}
		seen[s.ID] = true
		r := &rule{id: s.ID, kinds: s.Kinds}
		if len(s.Kinds) == 0 {
			errs = append(errs, fmt.Errorf("rule %s: kinds: required", s.ID))
			continue
		}
		for _, k := range s.Kinds {
			if !slices.Contains(event.Kinds(), k) {
				errs = append(errs, fmt.Errorf("rule %s: kinds: %q is not one of %v", s.ID, k, event.Kinds()))
			}
		}
		r.condition, err = compile(env, s.Condition, cel.BoolType)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: condition: %w", s.ID, err))
			continue
		}
		r.message, err = compile(env, s.Message, cel.StringType)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: message: %w", s.ID, err))
			continue
		}
		for _, k := range s.Kinds {
			d.byKind[k] = append(d.byKind[k], r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

func compile(env *cel.Env, expr string, want *cel.Type) (cel.Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("required")
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, fmt.Errorf("evaluates to %s, want %s", ast.OutputType(), want)
	}
	// No cost limit: only built-in rules run, over inputs bounded in the
	// kernel (paths and arguments of at most 256 bytes); OptOptimize
	// compiles constant regular expressions once.
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

// Evaluate returns the rules that fire on one event. A rule whose
// evaluation fails (a cost limit) is returned as an error and the others
// still run.
func (d *Detector) Evaluate(in *Input) ([]Match, error) {
	rules := d.byKind[event.Kind(in.Kind)]
	if len(rules) == 0 {
		return nil, nil
	}
	act := &activation{in: in}
	var out []Match
	var errs []error
	for _, r := range rules {
		v, _, err := r.condition.Eval(act)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.id, err))
			continue
		}
		if b, ok := v.Value().(bool); !ok || !b {
			continue
		}
		m := Match{RuleID: r.id}
		if mv, _, err := r.message.Eval(act); err == nil {
			m.Message, _ = mv.Value().(string)
		} else {
			m.Message = r.id + " (message: " + err.Error() + ")"
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// activation binds the event.<field> variables to one Input.
type activation struct{ in *Input }

func (a *activation) ResolveName(name string) (any, bool) {
	in := a.in
	switch name {
	case "event.kind":
		return in.Kind, true
	case "event.path":
		return in.Path, true
	case "event.name":
		return in.Name, true
	case "event.exeName":
		return in.ExeName, true
	case "event.writes":
		return in.Writes, true
	case "event.ret":
		return in.Ret, true
	case "event.flags":
		return in.Flags, true
	case "event.container":
		return in.Container, true
	case "event.args":
		return in.Args, true
	case "event.port":
		return in.Port, true
	case "event.addr":
		return in.Addr, true
	case "event.direction":
		return in.Direction, true
	}
	f, ok := fields[name]
	if !ok {
		return nil, false
	}
	return reflect.ValueOf(in).Elem().Field(f.index).Interface(), true
}

func (a *activation) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*activation)(nil)
