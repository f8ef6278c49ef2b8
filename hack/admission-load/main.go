// Command admission-load measures the admission webhook under load: it
// serves the webhook on 127.0.0.1 (HTTPS, the Pod Security restricted
// profile and every governance policy, see loadtest.Config) and posts
// realistic AdmissionReviews at rising request rates (open loop) and
// rising concurrency (closed loop), printing throughput and latency
// percentiles:
//
//	go run ./hack/admission-load
//	go run ./hack/admission-load -rates 500,1000,2000 -duration 10s -concurrency ""
//
// Client and server share the machine, so the figures include the
// client's own CPU use.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/admission/loadtest"
)

func main() {
	rates := flag.String("rates", "250,500,1000,1500,2000", "request rates to test (requests per second, comma-separated)")
	concs := flag.String("concurrency", "1,4,16,64", "concurrencies to test (closed loop, comma-separated; empty to skip)")
	duration := flag.Duration("duration", 10*time.Second, "duration of each step (at most 60s)")
	http2 := flag.Bool("http2", true, "multiplex over HTTP/2 as the API server does (false: HTTP/1.1 connections)")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before measuring")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as the installed Deployment sets it
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *duration > time.Minute {
		log.Fatal("-duration: at most 60s")
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := loadtest.StartServer(ctx, loadtest.Config)
	if err != nil {
		log.Fatal(err)
	}
	reviews, err := loadtest.Reviews(1000)
	if err != nil {
		log.Fatal(err)
	}
	c := loadtest.NewClient(srv.URL, srv.TLSConfig, reviews, *http2)
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	fmt.Printf("kordon admission load: %s, GOMAXPROCS=%d, GOGC=%d, %s, http2=%v, %s per step\n",
		runtime.Version(), runtime.GOMAXPROCS(0), gogc, srv.URL, *http2, *duration)
	c.Concurrency(ctx, 4, *warmup)
	for _, r := range ints(*rates) {
		fmt.Println(c.Rate(ctx, r, *duration, 256))
	}
	for _, n := range ints(*concs) {
		fmt.Println(c.Concurrency(ctx, n, *duration))
	}
	cancel()
	if err := srv.Wait(); err != nil {
		log.Print(err)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			log.Fatalf("%q: want positive integers", s)
		}
		out = append(out, n)
	}
	return out
}
