package exceptions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

func TestCreateRevokeExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a, err := s.Create(ctx, Exception{Rule: "KOR-POD-009", Namespace: "ns-1", Name: "app-*", Reason: " batch job ", Expires: "2027-01-31"}, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, Exception{Rule: "KOR-WL-001", Kind: "Deployment", Reason: "sized by the queue"}, "bob", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		e    Exception
		want string
	}{
		{Exception{Reason: "x"}, "rule is required"},
		{Exception{Rule: "KOR-1"}, "reason is required"},
		{Exception{Rule: "KOR-[", Reason: "x"}, "bad pattern"},
		{Exception{Rule: "KOR-1", Reason: "x", Expires: "tomorrow"}, "expires"},
		{Exception{Rule: "KOR-1\nx", Reason: "x"}, "rule: holds a control character"},
		{Exception{Rule: "KOR-1", Reason: strings.Repeat("x", 3000)}, "reason: longer"},
	} {
		if _, err := s.Create(ctx, bad.e, "eve", now); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: error %v, want %q", bad.e, err, bad.want)
		}
	}
	if err := s.Revoke(ctx, b.ID, "carol", "fixed", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, b.ID, "carol", "again", now); err != ErrNotFound {
		t.Errorf("second revoke: %v", err)
	}
	active, err := s.List(ctx, false, 100)
	if err != nil || len(active) != 1 || active[0].ID != a.ID || active[0].Reason != "batch job" || active[0].Author != "alice" {
		t.Fatalf("active %+v %v", active, err)
	}
	all, _ := s.List(ctx, true, 100)
	if len(all) != 2 || all[0].RevokedBy != "carol" || all[0].Revoked.IsZero() {
		t.Fatalf("all %+v", all)
	}
	trail, _ := s.Audit(ctx, 100)
	if len(trail) != 3 || trail[0].Action != "revoked" || trail[0].Actor != "carol" || trail[0].Detail != "fixed" || trail[2].Actor != "alice" {
		t.Fatalf("audit %+v", trail)
	}

	// The export is an exceptions file that the scan engine loads and
	// whose exceptions match what the console said.
	out, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "exceptions.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := finding.LoadExceptions(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(loaded) != 1 {
		t.Fatalf("loaded %+v", loaded)
	}
	hit := &finding.Finding{RuleID: "KOR-POD-009", Resource: finding.Resource{Kind: "Deployment", Namespace: "ns-1", Name: "app-7"}}
	miss := &finding.Finding{RuleID: "KOR-POD-009", Resource: finding.Resource{Kind: "Deployment", Namespace: "ns-2", Name: "app-7"}}
	if !loaded[0].Matches(hit) || loaded[0].Matches(miss) || !strings.Contains(loaded[0].Reason, "by alice") {
		t.Errorf("exported exception %+v", loaded[0])
	}

	// Reopening keeps everything.
	s.Close()
	s2, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if all2, _ := s2.List(ctx, true, 100); len(all2) != 2 {
		t.Errorf("after reopen: %d", len(all2))
	}
}
