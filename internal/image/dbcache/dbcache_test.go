package dbcache_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/image/dbcache"
	"github.com/kordon-dev/kordon/internal/image/osv"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, b := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(b))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUpdate downloads from a real HTTP server started by the test, which
// serves zips the way osv.dev's bucket does (Last-Modified, 304).
func TestUpdate(t *testing.T) {
	modified := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	goZip := zipOf(t, map[string]string{"GO-T-1.json": `{"id":"GO-T-1","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`})
	var gets atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/Go/all.zip", func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.ServeContent(w, r, "all.zip", modified, bytes.NewReader(goZip))
	})
	mux.HandleFunc("/Broken/all.zip", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>not a zip</html>")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	got, errs := dbcache.Update(context.Background(), srv.Client(), srv.URL, dir, []string{"Go", "Broken", "Missing", "../x"})
	if len(got) != 1 || !got[0].Updated || !got[0].Modified.Equal(modified) {
		t.Fatalf("entries %+v", got)
	}
	if len(errs) != 3 || !strings.Contains(errs[0].Error(), "not a zip") || !strings.Contains(errs[1].Error(), "404") {
		t.Errorf("errors %v", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "Broken", "all.zip")); err == nil {
		t.Error("a broken download replaced the cache")
	}
	// A second update sends If-Modified-Since and keeps the copy.
	got, errs = dbcache.Update(context.Background(), srv.Client(), srv.URL, dir, []string{"Go"})
	if len(errs) > 0 || len(got) != 1 || got[0].Updated {
		t.Errorf("second update: %+v %v", got, errs)
	}
	if gets.Load() != 2 {
		t.Errorf("%d GETs", gets.Load())
	}
	st, err := dbcache.Status(dir)
	if err != nil || len(st) != 1 || st[0].Ecosystem != "Go" || st[0].Age(modified.Add(time.Hour)) != time.Hour {
		t.Errorf("status %+v %v", st, err)
	}
	db, err := osv.Load(dir)
	if err != nil || db.Records() != 1 {
		t.Errorf("load the cache: %v, %d records", err, db.Records())
	}
}
