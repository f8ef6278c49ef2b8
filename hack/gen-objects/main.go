// Command gen-objects writes generated Kubernetes objects as YAML, one file
// per 1,000 objects, for benchmarking whole runs of kordon scan:
//
//	go run ./hack/gen-objects -n 10000 -o /tmp/kordon-10k
//	/usr/bin/time -v kordon scan /tmp/kordon-10k -o json --fail-on none > /dev/null
//
// The default shape is testgen.Realistic (namespaces of about 1,000
// objects, workloads with several containers); -per-namespace 40 gives
// many small namespaces.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kordon-dev/kordon/internal/testgen"
)

func main() {
	n := flag.Int("n", 10000, "number of objects")
	out := flag.String("o", "kordon-generated", "output folder")
	seed := flag.Uint64("seed", 1, "random seed")
	per := flag.Int("per-namespace", testgen.Realistic.PerNamespace, "about how many objects each namespace holds")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	objs := testgen.Generate(*n, *seed, testgen.Shape{PerNamespace: *per})
	size := 0
	for i := 0; i < len(objs); i += 1000 {
		end := min(i+1000, len(objs))
		file := filepath.Join(*out, fmt.Sprintf("objects-%03d.yaml", i/1000))
		data := testgen.YAML(objs[i:end])
		size += len(data)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("wrote %d objects (%.1f MB) to %s\n", len(objs), float64(size)/1e6, *out)
}
