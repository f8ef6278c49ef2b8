package baseline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

func TestCollapse(t *testing.T) {
	for in, want := range map[string]string{
		"/proc/4711/status":                                   "/proc/*/status",
		"/tmp/upload-8c1f2a9e.tmp":                            "/tmp/*",
		"/var/cache/app/6b1c1a1e-3f0b-4a8e-9d7c-2f1e0a9b8c7d": "/var/cache/app/*",
		"/etc/nginx/nginx.conf":                               "/etc/nginx/nginx.conf",
		"/usr/lib/x86_64-linux-gnu/libc.so.6":                 "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/etc/ssl/certs/ca-certificates.crt":                  "/etc/ssl/certs/ca-certificates.crt",
		"/var/log/app-20260412.log":                           "/var/log/*",
		"relative/file":                                       "./relative/file",
	} {
		if got := Collapse(in); got != want {
			t.Errorf("Collapse(%q) = %q, want %q", in, got, want)
		}
	}
	long := "/" + strings.Repeat("a/", 100) + "f"
	if got := Collapse(long); strings.Count(got, "/") > 33 || !strings.HasSuffix(got, "/**") {
		t.Errorf("a deep path was not bounded: %q", got)
	}
}

var web = event.Workload{Namespace: "shop", Pod: "web-1", Container: "app", OwnerKind: "Deployment", Owner: "web", ImageDigest: "sha256:aaa"}

func ev(kind event.Kind, path string, at time.Time) *event.Event {
	w := web
	return &event.Event{Time: at, Kind: kind, Path: path, Workload: &w}
}

func TestLearnLockDeviate(t *testing.T) {
	s, err := NewStore(Config{Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	learn := []*event.Event{
		ev(event.Exec, "/usr/sbin/nginx", t0),
		ev(event.Open, "/etc/nginx/nginx.conf", t0),
		{Time: t0, Kind: event.Open, Path: "/var/cache/nginx/8c1f2a9e11", Flags: event.OWronly | event.OCreat},
		{Time: t0, Kind: event.Connect, Addr: "10.0.0.7", Port: 5432},
		{Time: t0, Kind: event.TCP, Direction: "inbound", LocalPort: 8080, Addr: "10.0.0.9", Port: 40000},
	}
	for _, e := range learn {
		if e.Workload == nil {
			w := web
			e.Workload = &w
		}
		if r := s.Observe(e); r.Deviation != nil || r.Locked {
			t.Fatalf("learning %+v: %+v", e, r)
		}
	}
	r := s.Observe(ev(event.Exec, "/usr/sbin/nginx", t0.Add(2*time.Minute)))
	if !r.Locked || r.Deviation != nil {
		t.Fatalf("the window's end did not lock: %+v", r)
	}
	for _, c := range []struct {
		e    *event.Event
		want string
	}{
		{ev(event.Exec, "/usr/sbin/nginx", t0), ""},
		{ev(event.Exec, "/bin/sh", t0), "exec /bin/sh"},
		{ev(event.Open, "/etc/nginx/nginx.conf", t0), ""},
		{ev(event.Open, "/var/cache/nginx/77aa88bb99", t0), ""}, // read of a written pattern
		{ev(event.Open, "/etc/shadow", t0), "file r:/etc/shadow"},
		{&event.Event{Kind: event.Open, Path: "/etc/nginx/nginx.conf", Flags: event.OWronly, Workload: &web}, "file w:/etc/nginx/nginx.conf"},
		{&event.Event{Kind: event.Open, Path: "/etc/missing", Ret: -2, Workload: &web}, ""},
		{&event.Event{Kind: event.Connect, Addr: "10.0.0.7", Port: 5432, Workload: &web}, ""},
		{&event.Event{Kind: event.Connect, Addr: "203.0.113.5", Port: 3333, Workload: &web}, "network out:203.0.113.5:3333"},
		{&event.Event{Kind: event.TCP, Direction: "inbound", LocalPort: 8080, Workload: &web}, ""},
		{&event.Event{Kind: event.TCP, Direction: "inbound", LocalPort: 22, Workload: &web}, "network in:22"},
		{&event.Event{Kind: event.Exit, Workload: &web}, ""},
	} {
		r := s.Observe(c.e)
		got := ""
		if r.Deviation != nil {
			got = r.Deviation.What + " " + r.Deviation.Entry
		}
		if got != c.want {
			t.Errorf("%s %s: deviation %q, want %q", c.e.Kind, c.e.Path+c.e.Addr, got, c.want)
		}
	}
}

func TestDirectoryCollapsesAndProfileBound(t *testing.T) {
	p := NewProfile("k", web, time.Now())
	lim := Limits{MaxBytes: 1 << 20, MaxChildren: 8}
	for i := range 100 {
		p.Learn(&event.Event{Kind: event.Open, Path: fmt.Sprintf("/srv/data/report-%c%c.txt", 'a'+i%26, 'a'+i/26)}, lim)
	}
	p.Lock(time.Now())
	if n := len(p.files); n != 1 {
		t.Errorf("%d file entries after collapsing, want 1 (/srv/data/**): %v", n, sorted(p.files))
	}
	if p.Check(&event.Event{Kind: event.Open, Path: "/srv/data/new/other.txt"}) != nil {
		t.Error("a file below a collapsed directory deviated")
	}
	// The bound: unique executables until 1 MiB.
	q := NewProfile("k", web, time.Now())
	for i := range 20000 {
		q.Learn(&event.Event{Kind: event.Exec, Path: fmt.Sprintf("/opt/bin/tool-%s-%d", strings.Repeat("x", 40), i)}, Limits{})
	}
	if q.Bytes() > 1<<20 || q.Overflow == 0 {
		t.Errorf("profile of %d bytes with overflow %d; want at most 1 MiB and overflow counted", q.Bytes(), q.Overflow)
	}
}

func TestPersistReloadAndImageChange(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(Config{MaxEvents: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.Observe(ev(event.Exec, "/app/server", now))
	if r := s.Observe(ev(event.Open, "/etc/app.conf", now)); !r.Locked || r.SaveErr != nil {
		t.Fatalf("not locked after MaxEvents: %+v", r)
	}
	s2, err := NewStore(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if r := s2.Observe(ev(event.Exec, "/bin/bash", now)); r.Deviation == nil || r.Deviation.Entry != "/bin/bash" {
		t.Errorf("reloaded profile: %+v", r)
	}
	// A new image digest: relearned, the old profile dropped.
	w := web
	w.ImageDigest = "sha256:bbb"
	r := s2.Observe(&event.Event{Time: now, Kind: event.Exec, Path: "/bin/bash", Workload: &w})
	if r.Deviation != nil || r.Replaced != web.Key() || r.Profile.State != Learning {
		t.Errorf("after an image change: %+v", r)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 0 {
		t.Errorf("old profile file left: %v", files)
	}
}

func TestExportImportYAML(t *testing.T) {
	s, _ := NewStore(Config{MaxEvents: 1})
	s.Observe(ev(event.Exec, "/app/server", time.Now()))
	data, err := Encode(s.Profiles())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "- /app/server") || !strings.Contains(string(data), "state: locked") {
		t.Fatalf("export:\n%s", data)
	}
	edited := strings.Replace(string(data), "- /app/server", "- /app/server\n- /app/migrate", 1)
	ps, err := Decode(strings.NewReader(edited), "edited.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := NewStore(Config{})
	if err := s2.Import(ps); err != nil {
		t.Fatal(err)
	}
	if r := s2.Observe(ev(event.Exec, "/app/migrate", time.Now())); r.Deviation != nil {
		t.Errorf("an executable added by hand deviated: %+v", r.Deviation)
	}
	for _, bad := range []struct{ doc, want string }{
		{"key: k\nstate: sleeping\n", "state"},
		{"key: k\nstate: locked\nfiles: [/etc/x]\n", "files[0]"},
		{"key: k\nstate: locked\nbogus: 1\n", "bogus"},
		{"state: locked\n", "key"},
	} {
		_, err := Decode(strings.NewReader("---\n"+bad.doc), "bad.yaml")
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "bad.yaml: document") {
			t.Errorf("%q: error %v, want one naming %s", bad.doc, err, bad.want)
		}
	}
	// A broken file in the profiles dir is reported, the good ones load.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("key: [\n"), 0o600)
	s3, err := NewStore(Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || len(s3.Profiles()) != 1 {
		t.Errorf("store with a broken file: %v, %d profiles", err, len(s3.Profiles()))
	}
}

func TestCapabilities(t *testing.T) {
	p := NewProfile("k", event.Workload{Cgroup: "/x"}, time.Unix(0, 0))
	granted := &event.Event{Kind: event.Capability, Capability: "CAP_NET_BIND_SERVICE"}
	denied := &event.Event{Kind: event.Capability, Capability: "CAP_SYS_ADMIN", Ret: -1}
	for _, e := range []*event.Event{granted, denied} {
		if !p.Learn(e, Limits{}) {
			t.Fatalf("learn %+v: profile full", e)
		}
	}
	p.Lock(time.Unix(1, 0))
	p.sync()
	if got := strings.Join(p.Capabilities, ","); got != "CAP_NET_BIND_SERVICE,denied:CAP_SYS_ADMIN" {
		t.Errorf("capabilities %q", got)
	}
	for _, c := range []struct {
		e    *event.Event
		want string
	}{
		{granted, ""},
		{denied, ""},
		{&event.Event{Kind: event.Capability, Capability: "CAP_SYS_ADMIN"}, "CAP_SYS_ADMIN"},
		{&event.Event{Kind: event.Capability, Capability: "CAP_NET_RAW", Ret: -1}, "denied:CAP_NET_RAW"},
	} {
		d := p.Check(c.e)
		switch {
		case c.want == "" && d != nil:
			t.Errorf("%+v: deviation %+v, want none", c.e, d)
		case c.want != "" && (d == nil || d.What != DeviationCapability || d.Entry != c.want):
			t.Errorf("%+v: deviation %+v, want capability %s", c.e, d, c.want)
		}
	}
	bad := &Profile{Key: "k", State: Locked, Capabilities: []string{"SYS_ADMIN"}}
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "capabilities[0]") {
		t.Errorf("validate: %v, want an error naming capabilities[0]", err)
	}
}
