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
// Every step runs twice in a row, against kordon and against the floor
// (loadtest.Floor, a trivial encoding/json webhook behind the same TLS
// server), and prints both with their ratio: on a shared machine the
// ratio is the figure to read. CPU per request is the process's CPU time
// (client and server: the same client for both) over the step's requests.
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
	"syscall"
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
	floor := flag.Bool("floor", true, "run every step against the trivial floor webhook too, and print the ratios")
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
	var fc *loadtest.Client
	var fsrv *loadtest.Server
	if *floor {
		if fsrv, err = loadtest.StartHandler(ctx, loadtest.Floor); err != nil {
			log.Fatal(err)
		}
		fc = loadtest.NewClient(fsrv.URL, fsrv.TLSConfig, reviews, *http2)
	}
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	fmt.Printf("kordon admission load: %s, GOMAXPROCS=%d, GOGC=%d, %s, http2=%v, %s per step\n",
		runtime.Version(), runtime.GOMAXPROCS(0), gogc, srv.URL, *http2, *duration)
	c.Concurrency(ctx, 4, *warmup)
	if fc != nil {
		fc.Concurrency(ctx, 4, *warmup)
	}
	step := func(run func(*loadtest.Client) loadtest.Result) {
		k, kcpu := measure(func() loadtest.Result { return run(c) })
		fmt.Printf("kordon %s  cpu/req %s\n", k, kcpu)
		if fc == nil {
			return
		}
		f, fcpu := measure(func() loadtest.Result { return run(fc) })
		fmt.Printf("floor  %s  cpu/req %s\n", f, fcpu)
		fmt.Printf("ratio  kordon/floor: p50 %.2f  p99 %.2f  cpu/req %.2f\n",
			ratio(k.P50, f.P50), ratio(k.P99, f.P99), ratio(kcpu, fcpu))
	}
	for _, r := range ints(*rates) {
		step(func(c *loadtest.Client) loadtest.Result { return c.Rate(ctx, r, *duration, 256) })
	}
	for _, n := range ints(*concs) {
		step(func(c *loadtest.Client) loadtest.Result { return c.Concurrency(ctx, n, *duration) })
	}
	cancel()
	if err := srv.Wait(); err != nil {
		log.Print(err)
	}
	if fsrv != nil {
		if err := fsrv.Wait(); err != nil {
			log.Print(err)
		}
	}
}

// measure runs one step and returns its result and the process's CPU
// time per answered request during it.
func measure(run func() loadtest.Result) (loadtest.Result, time.Duration) {
	before := cpuTime()
	r := run()
	if r.Requests == 0 {
		return r, 0
	}
	return r, ((cpuTime() - before) / time.Duration(r.Requests)).Round(time.Microsecond)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
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
