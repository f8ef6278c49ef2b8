package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/postgres/pgtest"
)

// TestServerPostgres runs kordon server on a real PostgreSQL server
// (--db postgres://...), sends it events, queries them through the server
// and then with kordon query --db on the same database.
func TestServerPostgres(t *testing.T) {
	pg, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop) // after the schema's cleanup
	dbURL := pg.Schema(t)
	dir := t.TempDir()
	const tok = "0123456789abcdef-token"
	tokFile := writeFile(t, dir, "token", tok+"\n")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var serverErr lockedBuffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&serverErr)
		cmd.SetErr(&serverErr)
		cmd.SetArgs([]string{"server", "--db", dbURL, "--addr", addr, "--token-file", tokFile, "--retention-age", "0",
			"--console-db", dir + "/console.db"})
		done <- cmd.ExecuteContext(ctx)
	}()
	cl := &httpapi.Client{BaseURL: "http://" + addr, Token: tok}
	deadline := time.Now().Add(30 * time.Second)
	var events bytes.Buffer
	now := time.Now().UTC()
	for i, a := range []string{"denied", "denied", "warned", "denied"} {
		ev := map[string]any{"time": now.Add(-time.Duration(i) * time.Minute), "engine": "admission", "action": a, "ruleID": "KOR-POD-001",
			"severity": "critical", "controls": []string{}, "resource": map[string]string{"kind": "Deployment", "namespace": "shop", "name": "web"}, "message": "privileged"}
		b, _ := json.Marshal(ev)
		events.Write(append(b, '\n'))
	}
	for {
		res, err := cl.Send(t.Context(), "/api/v1/events", events.Bytes())
		if err == nil {
			if res.Accepted != 4 {
				t.Fatalf("sending events: %+v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, serverErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(serverErr.String(), `"db":"postgres://kordon@/postgres?`) {
		t.Errorf("server log does not name the PostgreSQL database:\n%s", serverErr.String())
	}
	q := httpapi.QueryRequest{}
	q.Filter, q.Count = `action == "denied"`, true
	if res, err := cl.Query(t.Context(), q); err != nil || res.Count != 3 {
		t.Fatalf("query through the server: %+v, %v; want 3", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server: %v\n%s", err, serverErr.String())
	}
	out, errOut, code := run(t, "", "query", "--db", dbURL, "--since", "1h", "--explain", "--group-by", "action", `engine == "admission" && severityRank >= 4`)
	if code != 0 {
		t.Fatalf("query --db postgres: exit %d: %s", code, errOut)
	}
	for _, want := range []string{`engine == "admission" AND severityRank >= 4`, "denied  3", "warned  1", "total   4"} {
		if !strings.Contains(out, want) {
			t.Errorf("query --db postgres output lacks %q:\n%s", want, out)
		}
	}
	// A server that is not there: a usage error naming it, without the password.
	_, errOut, code = run(t, "", "query", "--db", "postgres://kordon:s3cret@127.0.0.1:1/kordon?connect_timeout=3", "--count")
	if code != exitUsage || !strings.Contains(errOut, "127.0.0.1:1/kordon") || strings.Contains(errOut, "s3cret") {
		t.Errorf("query on a missing server: exit %d, %s", code, errOut)
	}
}
