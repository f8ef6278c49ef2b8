package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// TestShortRun drives the real server briefly and checks that every
// review is answered with 200 and a decision (no timing assertions).
func TestShortRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := StartServer(ctx, Config)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := srv.Wait(); err != nil {
			t.Error(err)
		}
	}()
	reviews, err := Reviews(100)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(srv.URL, srv.TLSConfig, reviews, true)
	denied := 0
	for i := range reviews {
		var out admissionv1.AdmissionReview
		resp, err := c.http.Post(srv.URL, "application/json", bytes.NewReader(reviews[i]))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if out.Response == nil {
			t.Fatalf("review %d: no response", i)
		}
		if !out.Response.Allowed {
			denied++
		}
	}
	// Reviews 3, 23, 43, ... are deployments with :latest images and
	// privilege escalation; everything else complies.
	if denied != 5 {
		t.Errorf("denied %d of 100 reviews, want 5", denied)
	}
	for _, r := range []Result{c.Rate(ctx, 200, 200*time.Millisecond, 8), c.Concurrency(ctx, 4, 200*time.Millisecond)} {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors", r.Mode, r.Requests, r.Errors)
		}
	}
}
