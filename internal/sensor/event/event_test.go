package event

import (
	"strings"
	"testing"
)

func TestReadStream(t *testing.T) {
	in := "# comment\n\n" + `{"time":"2026-12-04T10:00:00Z","kind":"exec","pid":1,"uid":0,"path":"/bin/sh"}` + "\n"
	es, err := ReadStream(strings.NewReader(in), "s.jsonl")
	if err != nil || len(es) != 1 || es[0].Path != "/bin/sh" {
		t.Fatalf("%+v, %v", es, err)
	}
	for _, c := range []struct{ line, want string }{
		{`{"kind":"teleport","uid":0}`, "s.jsonl:1: kind \"teleport\""},
		{`{"kind":"exec","uid":0,"bogus":1}`, "s.jsonl:1: json: unknown field \"bogus\""},
		{`{"kind":`, "s.jsonl:1:"},
		{strings.Repeat("x", MaxLineBytes+1), "s.jsonl:1: bufio.Scanner: token too long"},
	} {
		_, err := ReadStream(strings.NewReader(c.line), "s.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%.40q: %v, want %q", c.line, err, c.want)
		}
	}
}

func TestWorkloadKey(t *testing.T) {
	w := &Workload{Namespace: "shop", Pod: "web-1", Container: "app", OwnerKind: "Deployment", Owner: "web", Image: "nginx:1", ImageDigest: "sha256:a"}
	if got := w.Key(); got != "shop/Deployment/web/app@sha256:a" {
		t.Errorf("key %q", got)
	}
	w.ImageDigest = ""
	if got := w.Key(); got != "shop/Deployment/web/app@nginx:1" {
		t.Errorf("key without digest %q", got)
	}
	if got := (&Workload{Cgroup: "/system.slice/x.service"}).Key(); got != "cgroup:/system.slice/x.service" {
		t.Errorf("host key %q", got)
	}
}

func TestCapabilityName(t *testing.T) {
	for n, want := range map[uint64]string{0: "CAP_CHOWN", 13: "CAP_NET_RAW", 21: "CAP_SYS_ADMIN", 40: "CAP_CHECKPOINT_RESTORE", 99: "CAP_99"} {
		if got := CapabilityName(n); got != want {
			t.Errorf("CapabilityName(%d) = %q, want %q", n, got, want)
		}
	}
}
