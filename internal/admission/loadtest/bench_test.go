package loadtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServeHTTP measures the webhook's own cost per review (decode,
// judge, encode), without TLS and network: the realistic mix of Reviews.
func BenchmarkServeHTTP(b *testing.B) {
	w, err := NewWebhook(Config)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkHandler(b, w)
}

// BenchmarkFloorServeHTTP is the same for the trivial webhook (Floor):
// kordon's cost per review is best read as a ratio to it, from the same
// run.
func BenchmarkFloorServeHTTP(b *testing.B) { benchmarkHandler(b, Floor) }

func benchmarkHandler(b *testing.B, w http.Handler) {
	reviews, err := Reviews(1000)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/validate", bytes.NewReader(reviews[i%len(reviews)])))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
