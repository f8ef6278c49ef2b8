package strictyaml

import (
	"reflect"
	"strings"
	"testing"
)

type level string

func (level) CheckScalar(s string) string {
	if s != "low" && s != "high" {
		return "want low or high"
	}
	return ""
}

type doc struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	On     bool              `json:"on"`
	Level  level             `json:"level"`
	Items  []item            `json:"items"`
	Labels map[string]string `json:"labels"`
	Any    map[string]any    `json:"any"`
}

type item struct {
	Key string `json:"key"`
}

func TestCheck(t *testing.T) {
	data := []byte(`name: [a]
count: many
on: yes please
level: medium
items:
  - key: a
  - keys: b
labels:
  team:
    nested: x
any:
  whatever: {a: [1, 2]}
nam: x
`)
	pos, ps := Check(data, reflect.TypeFor[doc]())
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		`line 1: name: want a string, got a list`,
		`line 2: count: want a whole number, got "many"`,
		`line 3: on: want true or false, got "yes please"`,
		`line 4: level: want low or high`,
		`line 7: items[1].keys: unknown field "keys" (did you mean key?)`,
		`line 10: labels.team: want a string, got a mapping`,
		`line 13: nam: unknown field "nam" (did you mean name?)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for field, line := range map[string]int{"items[0].key": 6, "labels.team": 9, "labels.team.nested": 9, "any.whatever": 12, "missing": 0} {
		if got := pos.Line(field); got != line {
			t.Errorf("Line(%s) = %d, want %d", field, got, line)
		}
	}
	Locate("f.yaml", pos, ps)
	if ps[0].File != "f.yaml" || !strings.HasPrefix(ps[0].String(), "f.yaml:1: name:") {
		t.Errorf("located problem = %s", ps[0])
	}
}

func TestCheckSyntax(t *testing.T) {
	_, ps := Check([]byte("a: b\n  c: d\n"), reflect.TypeFor[doc]())
	if len(ps) != 1 || ps[0].Line != 2 || strings.Contains(ps[0].Message, "line 2") {
		t.Errorf("syntax error problems = %+v, want one on line 2 without repeating the line", ps)
	}
	if _, ps := Check(nil, reflect.TypeFor[doc]()); len(ps) != 0 {
		t.Errorf("empty document: %+v", ps)
	}
}

// TestCheckAliasBomb: nested aliases that expand to billions of values
// are stopped, not walked.
func TestCheckAliasBomb(t *testing.T) {
	doc := "a: &a [[], [], [], [], [], [], [], [], []]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		doc += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	_, ps := Check([]byte(doc), reflect.TypeFor[map[string]nested]())
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "too complex") {
		t.Errorf("%d problems (first %+v), want one saying the document is too complex", len(ps), ps[:min(len(ps), 1)])
	}
	// Many problems are cut short.
	_, ps = Check([]byte(strings.Repeat("- 1\n", 500)), reflect.TypeFor[[]bool]())
	if len(ps) != maxProblems+1 || ps[maxProblems].Message != "more problems; fix these first" {
		t.Errorf("%d problems, want %d and a last one saying there are more", len(ps), maxProblems+1)
	}
}

// nested is a list of lists of any depth.
type nested []nested
