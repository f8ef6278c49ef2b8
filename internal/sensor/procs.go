package sensor

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// procTable remembers each process's executable, from exec events (or
// /proc/<pid>/exe for processes older than the sensor). Bounded: when it
// reaches max entries it starts over.
type procTable struct {
	procRoot string
	max      int
	exe      map[uint32]string
}

func newProcTable(procRoot string, max int) *procTable {
	return &procTable{procRoot: procRoot, max: max, exe: map[uint32]string{}}
}

// observe fills e.Exe and returns the parent's executable.
func (t *procTable) observe(e *event.Event) (parent string) {
	if e.PID == 0 {
		return ""
	}
	switch e.Kind {
	case event.Exec:
		if len(t.exe) >= t.max {
			clear(t.exe)
		}
		if e.Exe == "" {
			e.Exe = e.Path
		}
		t.exe[e.PID] = e.Exe
	case event.Exit:
		if e.Exe == "" {
			e.Exe = t.exe[e.PID]
		}
		delete(t.exe, e.PID)
	default:
		if e.Exe == "" {
			e.Exe = t.lookup(e.PID)
		}
	}
	if e.PPID != 0 {
		parent = t.lookup(e.PPID)
	}
	return parent
}

func (t *procTable) lookup(pid uint32) string {
	if exe, ok := t.exe[pid]; ok {
		return exe
	}
	exe, err := os.Readlink(filepath.Join(t.procRoot, strconv.FormatUint(uint64(pid), 10), "exe"))
	if err != nil {
		return ""
	}
	if len(t.exe) >= t.max {
		clear(t.exe)
	}
	t.exe[pid] = exe
	return exe
}
