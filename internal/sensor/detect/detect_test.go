package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

func TestBuiltinCompiles(t *testing.T) {
	specs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(specs); err != nil {
		t.Fatal(err)
	}
	if len(specs) < 30 {
		t.Errorf("%d runtime rules, want at least 30", len(specs))
	}
}

// TestFixtures replays each rule's recorded event streams: every
// fail.jsonl must fire the rule, no event of pass.jsonl may.
func TestFixtures(t *testing.T) {
	specs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		t.Run(s.ID, func(t *testing.T) {
			for _, file := range []string{"fail.jsonl", "pass.jsonl"} {
				name := filepath.Join("testdata", s.ID, file)
				f, err := os.Open(name)
				if err != nil {
					t.Fatalf("rule %s has no fixture: %v", s.ID, err)
				}
				events, err := event.ReadStream(f, name)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				fired := 0
				exes := map[uint32]string{}
				for i := range events {
					e := &events[i]
					if e.Kind == event.Exec {
						exes[e.PID] = e.Path
					}
					ms, err := d.Evaluate(NewInput(e, exes[e.PPID]))
					if err != nil {
						t.Errorf("%s line %d: %v", name, i+1, err)
					}
					for _, m := range ms {
						if m.RuleID == s.ID {
							fired++
							if m.Message == "" || strings.Contains(m.Message, "(message:") {
								t.Errorf("%s: message %q", name, m.Message)
							}
						}
					}
				}
				if want := file == "fail.jsonl"; (fired > 0) != want {
					t.Errorf("%s: rule fired %d times; want fire=%v", name, fired, want)
				}
			}
		})
	}
}

func TestBadSpecs(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{ID: "X-1", Kinds: []event.Kind{"exec"}, Condition: "event.nope == 1", Message: "'m'"}, "X-1: condition"},
		{Spec{ID: "X-2", Kinds: []event.Kind{"exec"}, Condition: "event.path", Message: "'m'"}, "want bool"},
		{Spec{ID: "X-3", Kinds: []event.Kind{"teleport"}, Condition: "true", Message: "'m'"}, "teleport"},
		{Spec{ID: "X-4", Kinds: []event.Kind{"exec"}, Condition: "true", Message: "1"}, "X-4: message"},
	} {
		_, err := New([]Spec{c.spec})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
}
