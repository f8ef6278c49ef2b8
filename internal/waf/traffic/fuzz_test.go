package traffic_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

// FuzzRead reads arbitrary input as traffic: no panic, and every record
// delivered has a method and a URL.
func FuzzRead(f *testing.F) {
	har, err := os.ReadFile("testdata/browser.har")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(har))
	f.Add(`{"method":"GET","url":"/a?b=c","headers":{"X":["1"]},"body":"e30=","body_base64":true,"status":200}`)
	f.Add(`{"log":{"entries":[{"request":{"method":"POST","url":"/","postData":{"text":"x","encoding":"base64"}}}]}}`)
	f.Fuzz(func(t *testing.T, input string) {
		_ = traffic.Read(strings.NewReader(input), "fuzz", func(r traffic.Record) error {
			if r.Method == "" || r.URL == nil || r.Header == nil {
				t.Fatalf("record without method, URL or header: %+v", r)
			}
			return nil
		}, func(*traffic.Problem) error { return nil })
	})
}
