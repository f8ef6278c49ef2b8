package flow

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func summary(res *Result) []string {
	var out []string
	for _, f := range res.Flows {
		s := fmt.Sprintf("%d %s -> %s %s/%d", f.Line, f.Src, f.Dst, f.Protocol, f.Port)
		if f.Src.World {
			s += " world"
		}
		if f.Src.Workload != "" {
			s += " owner " + f.Src.Kind + "/" + f.Src.Workload
		}
		if f.Src.Labels["pod-template-hash"] != "" {
			s += " hash"
		}
		if _, ok := f.Src.Labels["io.kubernetes.pod.namespace"]; ok {
			s += " cilium-label-kept"
		}
		out = append(out, s)
	}
	return out
}

func TestRead(t *testing.T) {
	tests := []struct {
		file    string
		want    []string
		skipped int
	}{
		{"hubble.json", []string{
			"1 shop/web-5d8f7c9b4-x2x9z -> shop/api-77f9d6c5b8-q7w2x TCP/8080 owner Deployment/web hash",
			"3 203.0.113.7 -> shop/web-5d8f7c9b4-x2x9z TCP/8443 world",
			"5 shop/api-77f9d6c5b8-q7w2x -> kube-system/coredns-5d78c9869d-bcdfg UDP/53",
		}, 3},
		{"flows.jsonl", []string{
			"2 shop/web -> shop/api TCP/8080",
			"3 203.0.113.7 -> shop/web TCP/8443",
			"4 shop/api -> shop-data/postgres TCP/5432",
		}, 0},
		{"flows.csv", []string{
			"2 shop/web -> shop/api TCP/8080",
			"3 203.0.113.7 -> shop/web TCP/8443",
			"4 shop/api -> shop-data/postgres TCP/5432",
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := Read(f, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got := summary(res)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("flows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if res.Skipped != tt.skipped {
				t.Errorf("skipped = %d, want %d", res.Skipped, tt.skipped)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct{ name, file, data, want string }{
		{"bad json", "f.jsonl", "{", "f.jsonl:1"},
		{"unknown format", "f.jsonl", `{"a": 1}`, "unknown flow format"},
		{"bad port", "f.jsonl", `{"src": "a/b", "dst": "c/d", "port": 0}`, "port"},
		{"bad end", "f.jsonl", `{"src": "web", "dst": "c/d", "port": 80}`, "namespace/name"},
		{"unknown field", "f.jsonl", `{"src": "a/b", "dst": "c/d", "port": 80, "prot": "TCP"}`, "unknown field"},
		{"csv header", "f.csv", "from,to\n", "header lacks"},
		{"csv protocol", "f.csv", "src,dst,protocol,port\na/b,c/d,ICMP,1\n", "f.csv:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.data), tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"hubble.json", "flows.jsonl"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Read(strings.NewReader(string(data)), "fuzz.jsonl")
		if err != nil {
			return
		}
		for _, fl := range res.Flows {
			if fl.Port < 1 || fl.Port > 65535 {
				t.Fatalf("flow with port %d accepted", fl.Port)
			}
		}
	})
}

func TestTimeVerdictAndKeepDropped(t *testing.T) {
	f, err := os.Open("testdata/hubble.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReaderWith(f, "hubble.json", Options{KeepDropped: true})
	var got []string
	for {
		fl, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%d %s %s", fl.Line, fl.Time.Format("15:04:05.000"), fl.Verdict))
	}
	// Line 4 is a dropped flow, kept with its verdict; replies stay out.
	if !strings.Contains(strings.Join(got, ","), "DROPPED") || !strings.HasPrefix(got[0], "1 10:00:00.000 FORWARDED") {
		t.Errorf("flows = %v", got)
	}
	res, err := Read(strings.NewReader("src,dst,protocol,port,time\na/b,c/d,TCP,80,2026-03-01T10:00:00Z\n"), "f.csv")
	if err != nil || len(res.Flows) != 1 || res.Flows[0].Time.Format(time.RFC3339) != "2026-03-01T10:00:00Z" {
		t.Errorf("CSV time: %+v, %v", res, err)
	}
	if _, err := Read(strings.NewReader(`{"src": "a/b", "dst": "c/d", "port": 80, "time": "yesterday"}`), "f.jsonl"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad time: %v", err)
	}
}
