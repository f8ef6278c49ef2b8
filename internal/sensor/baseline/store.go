package baseline

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Config sets how profiles are learned.
type Config struct {
	// Window is how long a new workload is learned (default 10m).
	Window time.Duration
	// MaxEvents ends learning early after this many events (0: no limit).
	MaxEvents int64
	// Limits bound each profile.
	Limits Limits
	// MaxProfiles bounds the number of workloads tracked (default 4096);
	// events of further workloads are counted and not profiled.
	MaxProfiles int
	// Dir persists profiles (one YAML file per workload); "" keeps them in
	// memory only.
	Dir string
}

// Result is what Observe made of an event.
type Result struct {
	Profile *Profile
	// Deviation is set when a locked profile does not cover the event.
	Deviation *Deviation
	// Overflowed is true when the event could not be learned because the
	// profile is full (the first overflow of a profile is reported).
	Overflowed bool
	// Locked is true when this event ended the learning window.
	Locked bool
	// Replaced names the profile of the previous image, dropped because
	// the workload's image changed.
	Replaced string
	// SaveErr is set when the profile locked but could not be persisted
	// (it stays in memory; Flush retries).
	SaveErr error
}

// Store holds the profiles of a node. It is safe for concurrent use.
type Store struct {
	cfg Config

	mu       sync.Mutex
	profiles map[string]*Profile
	// byContainer maps owner/container (without image) to the current key,
	// to relearn when the image changes.
	byContainer map[string]string
	untracked   int64
}

// NewStore returns a store, loading the profiles persisted in cfg.Dir.
// A file that does not parse is an error naming it; the others still load.
func NewStore(cfg Config) (*Store, error) {
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Minute
	}
	if cfg.MaxProfiles <= 0 {
		cfg.MaxProfiles = 4096
	}
	cfg.Limits = cfg.Limits.withDefaults()
	s := &Store{cfg: cfg, profiles: map[string]*Profile{}, byContainer: map[string]string{}}
	if cfg.Dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("profiles dir: %w", err)
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("profiles dir: %w", err)
	}
	var errs []error
	for _, en := range entries {
		if en.IsDir() || !strings.HasSuffix(en.Name(), ".yaml") {
			continue
		}
		name := filepath.Join(cfg.Dir, en.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps, err := Decode(bytes.NewReader(data), name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			s.put(p)
		}
	}
	return s, errors.Join(errs...)
}

func containerKey(w *event.Workload) string {
	k := w.Key()
	if i := strings.LastIndexByte(k, '@'); i >= 0 {
		return k[:i]
	}
	return k
}

func (s *Store) put(p *Profile) {
	s.profiles[p.Key] = p
	s.byContainer[containerKey(&p.Workload)] = p.Key
}

// Observe learns or checks one attributed event.
func (s *Store) Observe(e *event.Event) Result {
	if e.Workload == nil {
		return Result{}
	}
	key := e.Workload.Key()
	s.mu.Lock()
	defer s.mu.Unlock()
	var res Result
	p, ok := s.profiles[key]
	if !ok {
		ck := containerKey(e.Workload)
		if old, ok := s.byContainer[ck]; ok && old != key {
			// The image changed: relearn.
			delete(s.profiles, old)
			s.removeFile(old)
			res.Replaced = old
		}
		if len(s.profiles) >= s.cfg.MaxProfiles {
			s.untracked++
			return res
		}
		p = NewProfile(key, *e.Workload, e.Time)
		s.put(p)
	}
	res.Profile = p
	if p.State == Locked {
		res.Deviation = p.Check(e)
		return res
	}
	before := p.Overflow
	p.Learn(e, s.cfg.Limits)
	res.Overflowed = before == 0 && p.Overflow > 0
	if e.Time.Sub(p.Started) >= s.cfg.Window || (s.cfg.MaxEvents > 0 && p.Events >= s.cfg.MaxEvents) {
		p.Lock(e.Time)
		res.Locked = true
		res.SaveErr = s.save(p)
	}
	return res
}

// Tick locks the profiles whose window has passed without events and
// returns their keys (and any error persisting them).
func (s *Store) Tick(now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var locked []string
	var errs []error
	for _, p := range s.profiles {
		if p.State == Learning && now.Sub(p.Started) >= s.cfg.Window {
			p.Lock(now)
			errs = append(errs, s.save(p))
			locked = append(locked, p.Key)
		}
	}
	return locked, errors.Join(errs...)
}

// Untracked counts events of workloads beyond MaxProfiles.
func (s *Store) Untracked() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.untracked
}

// Profiles returns copies of every profile, sorted by key.
func (s *Store) Profiles() []*Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Profile, 0, len(s.profiles))
	for _, p := range s.profiles {
		p.sync()
		c := *p
		c.Executables = append([]string(nil), p.Executables...)
		c.Files = append([]string(nil), p.Files...)
		c.Peers = append([]string(nil), p.Peers...)
		c.Capabilities = append([]string(nil), p.Capabilities...)
		out = append(out, &c)
	}
	sortProfiles(out)
	return out
}

// Import replaces the profiles with those given (reviewed, edited YAML).
func (s *Store) Import(ps []*Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		p.index()
		s.put(p)
		if err := s.save(p); err != nil {
			return err
		}
	}
	return nil
}

// Flush persists every profile.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, p := range s.profiles {
		errs = append(errs, s.save(p))
	}
	return errors.Join(errs...)
}

func fileName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:12]) + ".yaml"
}

func (s *Store) save(p *Profile) error {
	if s.cfg.Dir == "" {
		return nil
	}
	p.sync()
	data, err := Encode([]*Profile{p})
	if err != nil {
		return err
	}
	name := filepath.Join(s.cfg.Dir, fileName(p.Key))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save profile %s: %w", p.Key, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("save profile %s: %w", p.Key, err)
	}
	return nil
}

func (s *Store) removeFile(key string) {
	if s.cfg.Dir != "" {
		os.Remove(filepath.Join(s.cfg.Dir, fileName(key)))
	}
}

// Encode writes profiles as a multi-document YAML stream.
func Encode(ps []*Profile) ([]byte, error) {
	var b bytes.Buffer
	for i, p := range ps {
		p.sync()
		data, err := yaml.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode profile %s: %w", p.Key, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// MaxFileBytes bounds a profile file read by Decode.
const MaxFileBytes = 16 << 20

// Decode reads profiles from a YAML stream (documents separated by
// ---). Errors name the file and the document.
func Decode(r io.Reader, name string) ([]*Profile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileBytes)
	}
	var out []*Profile
	for i, doc := range splitDocs(data) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var p Profile
		if err := yaml.UnmarshalStrict(doc, &p); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", name, i+1, p.Key, err)
		}
		p.index()
		out = append(out, &p)
	}
	return out, nil
}

func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for line := range bytes.Lines(data) {
		if bytes.Equal(bytes.TrimRight(line, "\r\n"), []byte("---")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

func sortProfiles(ps []*Profile) {
	slices.SortFunc(ps, func(a, b *Profile) int { return cmp.Compare(a.Key, b.Key) })
}

// LockAll locks every learning profile now (kordon sensor profiles lock,
// tests) and returns their keys.
func (s *Store) LockAll(now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var locked []string
	var errs []error
	for _, p := range s.profiles {
		if p.State == Learning {
			p.Lock(now)
			errs = append(errs, s.save(p))
			locked = append(locked, p.Key)
		}
	}
	return locked, errors.Join(errs...)
}
