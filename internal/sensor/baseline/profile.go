// Package baseline learns what each workload normally does — the
// executables it runs, the files it opens (paths collapsed into patterns so
// that per-request temporary files do not grow the profile) and its network
// peers — during a learning window, then locks the profile and reports what
// deviates from it. Profiles are bounded in memory, persisted as YAML that
// users may review and edit, and relearned when a workload's image changes.
package baseline

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Profile states.
const (
	Learning = "learning"
	Locked   = "locked"
)

// Profile is one workload's baseline. The YAML form is what kordon sensor
// profiles export writes and import reads.
type Profile struct {
	// Key is the workload key: namespace/kind/owner/container@image.
	Key string `json:"key"`
	// Workload describes the workload (the first pod seen).
	Workload event.Workload `json:"workload"`
	State    string         `json:"state"`
	// Started is the first event of the learning window; Locked when it
	// ended.
	Started  time.Time  `json:"started"`
	LockedAt *time.Time `json:"locked,omitempty"`
	// Events counts the events learned.
	Events int64 `json:"events"`
	// Executables are the paths of executables run.
	Executables []string `json:"executables"`
	// Files are file patterns prefixed with the access: "r:/etc/ssl/*",
	// "w:/tmp/*". A segment * matches one path segment; a pattern ending in
	// /** matches anything below.
	Files []string `json:"files"`
	// Peers are outbound peers "out:10.0.0.7:5432" and inbound ports
	// "in:8080".
	Peers []string `json:"peers"`
	// Capabilities are the capabilities the workload's processes were
	// granted (CAP_NET_BIND_SERVICE) or refused ("denied:CAP_SYS_ADMIN").
	Capabilities []string `json:"capabilities,omitempty"`
	// Overflow counts entries not recorded because the profile reached its
	// bound; a profile with overflow reports more deviations than it
	// should.
	Overflow int64 `json:"overflow,omitempty"`

	exes, files, peers, caps map[string]struct{}
	// children counts the distinct children learned per directory pattern,
	// to collapse a directory that fills with unique names.
	children map[string]int
	// seen holds the directory and child name pairs counted in children.
	seen  map[string]struct{}
	bytes int
}

// Limits bound a profile.
type Limits struct {
	// MaxBytes bounds the memory of one profile's entries (default 1 MiB).
	MaxBytes int
	// MaxChildren is the number of distinct names below one directory
	// after which the directory is learned as dir/** (default 32).
	MaxChildren int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 20
	}
	if l.MaxChildren <= 0 {
		l.MaxChildren = 32
	}
	return l
}

// entryOverhead approximates the memory of one set entry beyond its
// string bytes (map bucket share, string header, slice element).
const entryOverhead = 64

// NewProfile returns an empty learning profile.
func NewProfile(key string, w event.Workload, start time.Time) *Profile {
	p := &Profile{Key: key, Workload: w, State: Learning, Started: start.UTC()}
	p.index()
	return p
}

func (p *Profile) index() {
	p.exes, p.files, p.peers, p.caps, p.children = set(p.Executables), set(p.Files), set(p.Peers), set(p.Capabilities), map[string]int{}
	p.seen = map[string]struct{}{}
	p.bytes = 0
	for _, s := range slices.Concat(p.Executables, p.Files, p.Peers, p.Capabilities) {
		p.bytes += len(s) + entryOverhead
	}
	for _, f := range p.Files {
		p.children[path.Dir(f[2:])]++
	}
}

func set(xs []string) map[string]struct{} {
	m := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return m
}

// Bytes is the approximate memory of the profile's entries.
func (p *Profile) Bytes() int { return p.bytes }

// Deviation is an event the locked profile does not cover.
type Deviation struct {
	// What is exec, file, network or capability.
	What string
	// Entry is the profile entry the event would have added.
	Entry string
}

// Deviation kinds.
const (
	DeviationExec       = "exec"
	DeviationFile       = "file"
	DeviationNetwork    = "network"
	DeviationCapability = "capability"
)

// entry returns the profile entry of an event and its kind; "" for events
// a profile does not record.
func entry(e *event.Event) (what, key string) {
	switch e.Kind {
	case event.Exec:
		return DeviationExec, e.Path
	case event.Open:
		if e.Ret < 0 || e.Path == "" {
			return "", ""
		}
		mode := "r:"
		if e.Writes() {
			mode = "w:"
		}
		return DeviationFile, mode + Collapse(e.Path)
	case event.Connect:
		if e.Addr == "" {
			return "", ""
		}
		return DeviationNetwork, "out:" + peer(e.Addr, e.Port)
	case event.TCP:
		if e.Direction == "inbound" {
			return DeviationNetwork, "in:" + strconv.Itoa(int(e.LocalPort))
		}
		return DeviationNetwork, "out:" + peer(e.Addr, e.Port)
	case event.Capability:
		if e.Capability == "" {
			return "", ""
		}
		if e.Ret < 0 {
			return DeviationCapability, "denied:" + e.Capability
		}
		return DeviationCapability, e.Capability
	}
	return "", ""
}

func peer(addr string, port uint16) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, port).String()
	}
	return addr + ":" + strconv.Itoa(int(port))
}

// Learn adds an event to a learning profile. It returns false when the
// profile is full and the entry was counted as overflow.
func (p *Profile) Learn(e *event.Event, lim Limits) bool {
	lim = lim.withDefaults()
	what, key := entry(e)
	p.Events++
	if what == "" || p.covers(what, key) {
		return true
	}
	if p.bytes+len(key)+entryOverhead > lim.MaxBytes {
		p.Overflow++
		return false
	}
	switch what {
	case DeviationExec:
		p.exes[key] = struct{}{}
	case DeviationNetwork:
		p.peers[key] = struct{}{}
	case DeviationCapability:
		p.caps[key] = struct{}{}
	case DeviationFile:
		// Count distinct names in the file's directory and distinct
		// subdirectories in its parent: either filling up collapses that
		// directory to dir/** (per-request directories as well as files).
		name := key[2:]
		dir := path.Dir(name)
		for _, d := range []string{dir, path.Dir(dir)} {
			if d == "/" || d == "." {
				break
			}
			child := name[len(d)+1:]
			if i := strings.IndexByte(child, '/'); i >= 0 {
				child = child[:i]
			}
			pair := d + "\x00" + child
			if _, ok := p.seen[pair]; !ok {
				p.seen[pair] = struct{}{}
				p.bytes += len(pair) + entryOverhead
				p.children[d]++
			}
			if p.children[d] > lim.MaxChildren {
				p.collapseDir(key[:2], d)
				key = key[:2] + d + "/**"
				break
			}
		}
		p.files[key] = struct{}{}
	}
	p.bytes += len(key) + entryOverhead
	return true
}

// collapseDir removes the entries below dir with the given access prefix
// (they are covered by dir/**).
func (p *Profile) collapseDir(mode, dir string) {
	prefix := mode + dir + "/"
	for f := range p.files {
		if strings.HasPrefix(f, prefix) {
			delete(p.files, f)
			p.bytes -= len(f) + entryOverhead
		}
	}
}

// covers reports whether the profile holds the entry.
func (p *Profile) covers(what, key string) bool {
	switch what {
	case DeviationExec:
		_, ok := p.exes[key]
		return ok
	case DeviationNetwork:
		_, ok := p.peers[key]
		return ok
	case DeviationCapability:
		_, ok := p.caps[key]
		return ok
	case DeviationFile:
		if _, ok := p.files[key]; ok {
			return true
		}
		mode, name := key[:2], key[2:]
		if mode == "r:" {
			// A file learned as written may be read.
			if _, ok := p.files["w:"+name]; ok {
				return true
			}
		}
		for dir := path.Dir(name); ; dir = path.Dir(dir) {
			if _, ok := p.files[mode+strings.TrimSuffix(dir, "/")+"/**"]; ok {
				return true
			}
			if mode == "r:" {
				if _, ok := p.files["w:"+strings.TrimSuffix(dir, "/")+"/**"]; ok {
					return true
				}
			}
			if dir == "/" || dir == "." {
				break
			}
		}
		return false
	}
	return true
}

// Check returns the deviation of an event from a locked profile, or nil.
func (p *Profile) Check(e *event.Event) *Deviation {
	what, key := entry(e)
	if what == "" || p.covers(what, key) {
		return nil
	}
	return &Deviation{What: what, Entry: key}
}

// Lock ends learning.
func (p *Profile) Lock(at time.Time) {
	at = at.UTC()
	p.State = Locked
	p.LockedAt = &at
}

// sync writes the sets back to the sorted slices (for YAML).
func (p *Profile) sync() {
	p.Executables = sorted(p.exes)
	p.Files = sorted(p.files)
	p.Peers = sorted(p.peers)
	p.Capabilities = sorted(p.caps)
	if len(p.Capabilities) == 0 {
		p.Capabilities = nil
	}
}

func sorted(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// validate checks a profile read from YAML.
func (p *Profile) validate() error {
	if p.Key == "" {
		return fmt.Errorf("key: required")
	}
	if p.State != Learning && p.State != Locked {
		return fmt.Errorf("state: %q is not %s or %s", p.State, Learning, Locked)
	}
	for i, f := range p.Files {
		if !strings.HasPrefix(f, "r:/") && !strings.HasPrefix(f, "w:/") {
			return fmt.Errorf("files[%d]: %q does not start with r:/ or w:/", i, f)
		}
	}
	for i, x := range p.Peers {
		if !strings.HasPrefix(x, "in:") && !strings.HasPrefix(x, "out:") {
			return fmt.Errorf("peers[%d]: %q does not start with \"in:\" or \"out:\"", i, x)
		}
	}
	for i, x := range p.Capabilities {
		if !strings.HasPrefix(strings.TrimPrefix(x, "denied:"), "CAP_") {
			return fmt.Errorf("capabilities[%d]: %q is not CAP_<name> or denied:CAP_<name>", i, x)
		}
	}
	for i, x := range p.Executables {
		if !strings.HasPrefix(x, "/") {
			return fmt.Errorf("executables[%d]: %q is not an absolute path", i, x)
		}
	}
	return nil
}
